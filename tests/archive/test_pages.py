"""Home, archive and issue pages: what the public sees, and what it must not."""

import json
import re

import pytest
from django.utils import timezone

from issues.models import Issue
from tests.support.factories import make_issue, make_newsletter

pytestmark = pytest.mark.django_db


def listed_titles(html):
    """The titles of the issues a list page shows, in order."""
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', html)


def test_issue_page_shows_the_snapshot_with_table_of_contents_and_quiz_in_details(
    client, sent_issue
):
    response = client.get(sent_issue.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Storm over the quay" in html
    for anchor in ("the-big-story", "links", "quiz"):
        assert f'href="#{anchor}"' in html
        assert f'<h2 id="{anchor}">' in html
    assert re.search(r"<details[^>]*>\s*<summary>Reveal the lie</summary>", html)
    assert 'action="/subscribe/"' in html
    assert 'name="newsletter" value="harbour-notes"' in html


def test_issue_page_links_to_the_previous_and_next_public_issues(client, newsletter):
    first = make_issue(newsletter, "First light", days_ago=20)
    make_issue(newsletter, "Still a draft", status=Issue.Status.DRAFT)
    middle = make_issue(newsletter, "Middle watch", days_ago=10)
    hidden = make_issue(newsletter, "Taken down", days_ago=8, show_in_archive=False)
    last = make_issue(newsletter, "Last orders", days_ago=1)

    html = client.get(middle.get_absolute_url()).content.decode()

    assert f'rel="prev" href="{first.get_absolute_url()}"' in html
    assert f'rel="next" href="{last.get_absolute_url()}"' in html
    assert hidden.get_absolute_url() not in html
    assert "Still a draft" not in html


def test_issue_page_head_has_canonical_sharing_cards_and_news_article(client, sent_issue, settings):
    html = client.get(sent_issue.get_absolute_url()).content.decode()
    url = settings.SITE_URL + sent_issue.get_absolute_url()

    assert '<html lang="en">' in html
    assert f'<link rel="canonical" href="{url}">' in html
    assert '<meta name="description" content="Storm over the quay: what happened' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert (
        'type="application/rss+xml" title="RSS: Harbour Notes" href="/feed/harbour-notes/"' in html
    )
    image = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    assert image.startswith(settings.SITE_URL + "/media/sharing/harbour-notes/")
    assert f'<meta name="twitter:image" content="{image}">' in html
    json_ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    article = json.loads(json_ld.group(1))
    assert article["@type"] == "NewsArticle"
    assert article["headline"] == "Storm over the quay"
    assert article["url"] == url
    assert article["datePublished"].startswith(str(sent_issue.published_at.date()))
    assert article["image"] == [image]


@pytest.mark.parametrize(
    "state",
    [
        {"status": Issue.Status.DRAFT},
        {"status": Issue.Status.SCHEDULED},
        {"status": Issue.Status.SENDING, "topic": "dockside"},
        {"days_ago": 0, "show_in_archive": False},
    ],
    ids=["draft", "scheduled", "sending", "sent-but-unpublished"],
)
def test_issue_that_is_not_public_answers_404_to_the_public(client, newsletter, state):
    issue = make_issue(newsletter, "Not for your eyes", **state)
    response = client.get(issue.get_absolute_url())
    assert response.status_code == 404
    assert b"Not for your eyes" not in response.content


def test_sent_issue_without_a_snapshot_answers_404(client, newsletter):
    issue = make_issue(
        newsletter, "Lost in the post", status=Issue.Status.SENT, published_at=timezone.now()
    )
    assert client.get(issue.get_absolute_url()).status_code == 404


def test_unknown_issue_and_unknown_newsletter_answer_404(client, sent_issue):
    assert client.get("/harbour-notes/no-such-issue/").status_code == 404
    assert client.get(f"/no-such-newsletter/{sent_issue.slug}/").status_code == 404


@pytest.mark.parametrize(
    "state",
    [
        {"status": Issue.Status.DRAFT},
        {"status": Issue.Status.SENDING, "topic": "dockside"},
        {"days_ago": 0, "show_in_archive": False},
    ],
    ids=["draft", "sending", "sent-but-unpublished"],
)
def test_staff_see_a_preview_banner_instead_of_404(admin_client, newsletter, state):
    issue = make_issue(newsletter, "Work in progress", **state)
    response = admin_client.get(issue.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="preview-banner"' in html
    assert "Work in progress" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "no-cache" in response["Cache-Control"]


def test_staff_see_no_preview_banner_on_a_public_issue(admin_client, sent_issue):
    response = admin_client.get(sent_issue.get_absolute_url())
    assert response.status_code == 200
    assert b'class="preview-banner"' not in response.content  # the rule is in the inlined CSS


def test_home_shows_latest_issue_in_full_after_the_subscribe_form(client, newsletter):
    make_issue(newsletter, "Older tides", days_ago=14)
    make_issue(newsletter, "Fresh catch", days_ago=1, topic="fishmarket")
    html = client.get("/").content.decode()

    assert "Fresh catch" in html and "fishmarket crews" in html
    assert "Older tides" not in html
    assert html.index('class="sf-subscribe"') < html.index('class="issue-body"')
    assert 'href="/archive/"' in html


def test_home_indexes_the_newsletters_when_there_are_several(client, newsletter):
    other = make_newsletter("river-weekly", "River Weekly")
    make_issue(newsletter, "Harbour news", days_ago=3)
    make_issue(other, "Upstream news", days_ago=2)
    html = client.get("/").content.decode()

    assert 'id="newsletters-heading"' in html
    assert 'href="/harbour-notes/harbour-news/"' in html
    assert '<option value="river-weekly">River Weekly</option>' in html


def test_home_without_any_sent_issue_still_offers_the_subscribe_form(client, newsletter):
    make_issue(newsletter, "Unsent", status=Issue.Status.DRAFT)
    html = client.get("/").content.decode()
    assert "Nothing has been sent yet" in html
    assert "Unsent" not in html


def test_archive_lists_sent_issues_newest_first_twenty_a_page(client, newsletter):
    for n in range(23):
        make_issue(newsletter, f"Tide table {n:02}", days_ago=30 - n)
    make_issue(newsletter, "Draft tide", status=Issue.Status.DRAFT)

    first = client.get("/archive/").content.decode()
    second = client.get("/archive/?page=2").content.decode()

    assert listed_titles(first) == [f"Tide table {n:02}" for n in range(22, 2, -1)]
    assert listed_titles(second) == ["Tide table 02", "Tide table 01", "Tide table 00"]
    assert "Draft tide" not in first + second
    assert "Page 1 of 2" in first


def test_archive_filters_by_newsletter_and_year(client, newsletter):
    other = make_newsletter("river-weekly", "River Weekly")
    old = make_issue(newsletter, "Old harbour", days_ago=400)
    make_issue(newsletter, "New harbour", days_ago=1)
    make_issue(other, "River run", days_ago=2)

    by_newsletter = client.get("/archive/?newsletter=river-weekly").content.decode()
    by_year = client.get(f"/archive/?year={old.published_at.year}").content.decode()

    assert listed_titles(by_newsletter) == ["River run"]
    assert listed_titles(by_year) == ["Old harbour"]


def test_archive_explains_an_unknown_filter_instead_of_failing(client, sent_issue):
    response = client.get("/archive/?newsletter=nope&year=last")
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is no newsletter called “nope”" in html
    assert "“last” is not a year" in html
    assert "Storm over the quay" in html


def test_every_page_has_title_description_canonical_and_skip_link(client, sent_issue):
    for path in ["/", "/archive/", "/search/?q=quay", sent_issue.get_absolute_url()]:
        html = client.get(path).content.decode()
        assert re.search(r"<title>[^<]+</title>", html), path
        assert '<meta name="description" content="' in html, path
        assert '<link rel="canonical" href="http://' in html, path
        assert '<a class="skip-link" href="#main">' in html, path
        assert '<main id="main"' in html, path
        assert '<meta property="og:image"' in html, path


def test_robots_txt_points_to_the_sitemap(client, settings):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


def test_site_name_setting_names_the_site_in_header_and_feed(client, sent_issue, settings):
    settings.SITE_NAME = "The Quay Times"
    assert "<title>The Quay Times</title>" in client.get("/").content.decode()
    assert "<title>The Quay Times</title>" in client.get("/feed/").content.decode()


def test_cover_image_shows_in_the_archive_and_becomes_the_sharing_card(
    client, newsletter, settings
):
    issue = make_issue(newsletter, "With a cover", cover_image="covers/harbour.jpg", days_ago=0)

    archive = client.get("/archive/").content.decode()
    page = client.get(issue.get_absolute_url()).content.decode()

    assert '<img class="cover" src="/media/covers/harbour.jpg" alt=""' in archive
    card = f'<meta property="og:image" content="{settings.SITE_URL}/media/covers/harbour.jpg">'
    assert card in page


def test_markup_in_a_title_cannot_break_out_of_the_json_ld(client, newsletter):
    issue = make_issue(
        newsletter, "</script><script>alert(1)</script>", subject="Quay news", days_ago=0
    )
    html = client.get(issue.get_absolute_url()).content.decode()
    json_ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(json_ld.group(1))["headline"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html


def test_archive_pages_only_answer_reads(client, sent_issue):
    for path in ["/", "/archive/", "/search/", sent_issue.get_absolute_url()]:
        assert client.post(path).status_code == 405, path
        assert client.head(path).status_code == 200, path


def test_staff_preview_of_a_draft_renders_its_current_blocks(admin_client, newsletter):
    from tests.support.composing import add_block

    draft = make_issue(newsletter, "Still writing", status=Issue.Status.DRAFT)
    add_block(draft, "heading", {"title": "Tide tables"})
    add_block(draft, "markdown", {"body": "The *spring* tides come early this year."})
    html = admin_client.get(draft.get_absolute_url()).content.decode()
    assert "Tide tables" in html
    assert "<em>spring</em> tides come early" in html
