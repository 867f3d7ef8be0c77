"""The archive-shaped snapshot (what the renderer freezes, written by hand) and a fresh cache."""

from contextlib import contextmanager

from django.core.cache import cache

from issues.archive.cache import recent_issue_facts
from issues.models import Snapshot

# An image the test server really serves, so browser screenshots show it.
IMAGE_PATH = "/static/superfast/share.png"


def web_html(topic, lie_number=3):
    """A body like the renderer's: headings with anchors, prose, links, image, quiz."""
    return f"""
<h2 id="the-big-story">The big story</h2>
<p>This week the {topic} crews worked through the night to clear the
<strong>northern quay</strong> before the storm. Read the
<a href="https://example.org/quay-report">full quay report</a> or jump to the
<a href="#quiz">quiz</a>.</p>
<p>Tugboat skippers say the new pilot schedule saves almost an hour per arrival.</p>
<h2 id="links">Links worth your time</h2>
<ul class="link-list">
  <li><a href="https://example.org/lighthouses">A census of working lighthouses</a></li>
  <li><a href="https://example.org/containers">Why containers are always 20 or 40 feet long</a></li>
  <li><a href="/archive/">Every earlier issue</a></li>
</ul>
<figure>
  <img src="{IMAGE_PATH}" alt="The harbour at dusk with three cranes" width="1200" height="630">
  <figcaption>The harbour at dusk, seen from the breakwater.</figcaption>
</figure>
<h2 id="quiz">3 headlines and a lie</h2>
<ol class="quiz">
  <li>Port authority adopts a seagull as its official mascot</li>
  <li>Record tide floods the fish market for the first time since 1953</li>
  <li>Container ship delivers a cargo of left shoes only</li>
  <li>Harbour choir releases an album of foghorn duets</li>
</ol>
<details class="quiz-answer">
  <summary>Reveal the lie</summary>
  <p>Number {lie_number} is the lie: shoes always ship in pairs.</p>
</details>
""".strip()


def search_text(topic, lie_number=3):
    return (
        f"The big story. This week the {topic} crews worked through the night to clear the "
        "northern quay before the storm. Tugboat skippers say the new pilot schedule saves "
        "almost an hour per arrival. Links worth your time. A census of working lighthouses. "
        "3 headlines and a lie. Container ship delivers a cargo of left shoes only. "
        f"Number {lie_number} is the lie."
    )


HEADINGS = [
    {"id": "the-big-story", "title": "The big story"},
    {"id": "links", "title": "Links worth your time"},
    {"id": "quiz", "title": "3 headlines and a lie"},
]


def freeze(issue, topic="dockside"):
    """Store the issue's snapshot as the sender does when it sends (with the issue's public
    face: title, slug, "show in archive")."""
    return Snapshot.objects.create(
        issue=issue,
        subject=issue.subject,
        preheader=issue.preheader,
        web_html=web_html(topic),
        email_html=f"<html><body>{web_html(topic)}</body></html>",
        text=search_text(topic),
        headings=HEADINGS,
        search_text=search_text(topic),
        show_in_archive=issue.show_in_archive,
    )


@contextmanager
def fresh_archive_pages(settings):
    """No cached pages before or after, and the freshness window off: a change shows at once."""
    settings.ARCHIVE_FRESHNESS_SECONDS = 0
    cache.clear()
    recent_issue_facts.clear()
    try:
        yield
    finally:
        cache.clear()
        recent_issue_facts.clear()
