"""Feeds and the sitemap: what feed readers and crawlers get."""

import gzip
import xml.etree.ElementTree as ET

import feedparser
import pytest

from issues.models import Issue
from tests.support.factories import make_issue, make_newsletter

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def issues(newsletter):
    """Two public issues, and one of each state that must stay out of feeds and sitemaps."""
    other = make_newsletter("river-weekly", "River Weekly")
    return {
        "older": make_issue(newsletter, "Storm over the quay", days_ago=9),
        "newer": make_issue(newsletter, "Calm after the storm", days_ago=2),
        "river": make_issue(other, "River run", days_ago=5),
        "draft": make_issue(newsletter, "Draft", status=Issue.Status.DRAFT),
        "sending": make_issue(
            newsletter, "Going out", status=Issue.Status.SENDING, topic="dockside"
        ),
        "hidden": make_issue(newsletter, "Withdrawn", days_ago=4, show_in_archive=False),
    }


def parse(client, path):
    response = client.get(path)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


def test_rss_feed_has_every_public_issue_whole_with_dates_and_absolute_links(
    client, issues, settings
):
    response, feed = parse(client, "/feed/")

    assert response["Content-Type"].startswith("application/rss+xml")
    assert feed.version == "rss20"
    assert [entry.title for entry in feed.entries] == [
        "Calm after the storm",
        "River run",
        "Storm over the quay",
    ]
    newer = feed.entries[0]
    assert newer.link == settings.SITE_URL + issues["newer"].get_absolute_url()
    assert newer.published_parsed[:3] == issues["newer"].published_at.timetuple()[:3]
    assert newer.summary == issues["newer"].preheader
    content = newer.content[0].value
    assert "<details" in content and "Reveal the lie" in content
    assert f'src="{settings.SITE_URL}/static/superfast/share.png"' in content
    assert f'href="{newer.link}#quiz"' in content
    assert f'href="{settings.SITE_URL}/archive/"' in content
    assert 'href="https://example.org/quay-report"' in content
    assert feed.feed.link.startswith(settings.SITE_URL)


def test_atom_feed_has_full_content_and_updated_dates(client, issues, settings):
    response, feed = parse(client, "/feed/atom/")

    assert response["Content-Type"].startswith("application/atom+xml")
    assert feed.version == "atom10"
    assert len(feed.entries) == 3
    entry = feed.entries[0]
    assert entry.link == settings.SITE_URL + issues["newer"].get_absolute_url()
    assert entry.updated_parsed is not None and entry.published_parsed is not None
    assert entry.content[0].type == "text/html"
    assert "3 headlines and a lie" in entry.content[0].value
    assert entry.id == entry.link


def test_feed_of_one_newsletter_has_only_its_issues(client, issues):
    _, rss = parse(client, "/feed/river-weekly/")
    _, atom = parse(client, "/feed/river-weekly/atom/")
    assert [e.title for e in rss.entries] == ["River run"]
    assert [e.title for e in atom.entries] == ["River run"]
    assert rss.feed.title == "River Weekly"


def test_feed_of_an_unknown_newsletter_is_404(client, issues):
    assert client.get("/feed/nowhere/").status_code == 404


def test_sitemap_lists_home_archive_and_exactly_the_public_issues(client, issues, settings):
    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    locations = {loc.text for loc in root.findall("sm:url/sm:loc", SITEMAP_NS)}

    public = [issues["older"], issues["newer"], issues["river"]]
    pages = {settings.SITE_URL + "/", settings.SITE_URL + "/archive/"}
    assert locations == pages | {settings.SITE_URL + issue.get_absolute_url() for issue in public}
    assert len(root.findall("sm:url/sm:lastmod", SITEMAP_NS)) == 3


@pytest.mark.parametrize("path", ["/feed/", "/feed/atom/", "/feed/harbour-notes/"])
def test_feeds_answer_conditional_requests_like_pages(client, issues, path):
    first = client.get(path)
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=300, s-maxage=60"
    etag, last_modified = first["ETag"], first["Last-Modified"]

    by_date = client.get(path, HTTP_IF_MODIFIED_SINCE=last_modified)
    by_tag = client.get(path, HTTP_IF_NONE_MATCH=etag)
    for answer in (by_date, by_tag):
        assert answer.status_code == 304
        assert answer.content == b""
        assert answer["ETag"] == etag and answer["Cache-Control"] == first["Cache-Control"]

    make_issue(issues["newer"].newsletter, "A new tide", days_ago=0)
    assert client.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_feeds_are_compressed_when_asked(client, issues):
    for path in ("/feed/", "/feed/atom/"):
        plain = client.get(path)
        packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, br")
        assert "Content-Encoding" not in plain
        assert packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert "Accept-Encoding" in packed["Vary"]
