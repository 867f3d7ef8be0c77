"""A correction reaches every public surface at once, dated: home, issue page, archive,
search, both feeds, the sitemap and JSON-LD; no cache or ETag keeps the old text."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from issues.archive.cache import recent_issue_facts
from issues.models import Issue, Snapshot
from tests.support.composing import change_form_data
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
FIXED_INTRO = "Ahoy,\n\nThis week: boring tools, reliable zeppelins."


@pytest.fixture
def sent_issue(newsletter):
    """Sent three days ago, frozen from real blocks by the renderer a send runs then."""
    issue = make_issue(newsletter, "Boring tools", frozen=True, days_ago=3)
    Snapshot.objects.filter(issue=issue).update(created_at=issue.published_at)
    return issue


def correct(admin_client, issue, **fields):
    """Press "Correct the web version" with the intro's last word changed (and ``fields``)."""
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data |= {"based_on_version": issue.version, "blocks-0-markdown__body": FIXED_INTRO, **fields}
    response = admin_client.post(
        reverse("admin:issues_issue_correct_web", args=[issue.pk]), data, follow=True
    )
    assert "The web version now shows the issue as it stands" in response.content.decode()
    return Snapshot.objects.get(issue=issue).web_updated_at


def test_every_public_surface_shows_a_correction_at_once_with_its_date(
    admin_client, client, sent_issue, settings
):
    settings.ARCHIVE_FRESHNESS_SECONDS = 60  # as in production: only a correction clears it
    home_before = client.get("/")
    page_before = client.get(sent_issue.get_absolute_url())
    archive_before = client.get("/archive/")
    assert "zeppelins" not in home_before.content.decode()

    corrected_at = correct(admin_client, sent_issue, title="Boring tools, corrected")
    assert corrected_at is not None

    # Home and issue page: the new text, never a 304 to the old validators.
    for path, before in (("/", home_before), (sent_issue.get_absolute_url(), page_before)):
        revalidated = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
        assert revalidated.status_code == 200, path
        assert revalidated["ETag"] != before["ETag"]
        html = revalidated.content.decode()
        assert "reliable zeppelins" in html and "Boring tools, corrected" in html, path
        assert re.search(r"Updated on <time datetime=\"[^\"]+\">", html)
        assert parse_http_date(revalidated["Last-Modified"]) >= corrected_at.replace(microsecond=0)
    # The archive lists it under its new title, dated.
    archive = client.get("/archive/", HTTP_IF_NONE_MATCH=archive_before["ETag"])
    assert archive.status_code == 200 and "Boring tools, corrected" in archive.content.decode()
    to_the_second = corrected_at.replace(microsecond=0).isoformat()  # as <time datetime> has it
    assert f'datetime="{to_the_second}"' in archive.content.decode()
    # Search finds the new word, not the old one.
    assert "Boring tools, corrected" in client.get("/search/?q=zeppelins").content.decode()
    assert "Boring tools, corrected" not in client.get("/search/?q=hello").content.decode()

    rss = feedparser.parse(client.get("/feed/").content)
    assert "reliable zeppelins" in rss.entries[0].content[0].value
    assert rss.entries[0].title == "Boring tools, corrected"
    assert as_utc(rss.feed.updated_parsed) == corrected_at.replace(microsecond=0)
    atom = feedparser.parse(client.get("/feed/atom/").content)
    assert "reliable zeppelins" in atom.entries[0].content[0].value
    assert as_utc(atom.entries[0].updated_parsed) == corrected_at.replace(microsecond=0)
    assert as_utc(atom.feed.updated_parsed) == corrected_at.replace(microsecond=0)

    sitemap = ET.fromstring(client.get("/sitemap.xml").content)
    assert sitemap.findtext("sm:url/sm:lastmod", namespaces=SITEMAP_NS) == (
        timezone.localdate(corrected_at).isoformat()
    )

    article = json_ld(client.get(sent_issue.get_absolute_url()).content.decode())
    assert article["headline"] == "Boring tools, corrected"
    assert datetime.fromisoformat(article["dateModified"]) == corrected_at


def test_json_ld_is_never_modified_before_it_was_published(client, sent_issue):
    # A send freezes the snapshot, then stamps the issue published when the last mail left.
    Issue.objects.filter(pk=sent_issue.pk).update(published_at=timezone.now())
    recent_issue_facts.clear()
    article = json_ld(client.get(sent_issue.get_absolute_url()).content.decode())
    published = datetime.fromisoformat(article["datePublished"])
    assert datetime.fromisoformat(article["dateModified"]) >= published


def json_ld(html):
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def parse_http_date(value):
    from django.utils.http import parse_http_date as parse

    return datetime.fromtimestamp(parse(value), tz=UTC)


def as_utc(parsed):
    return datetime(*parsed[:6], tzinfo=UTC)
