"""Speed without staleness: a handful of queries, cached pages keyed by snapshot, 304s."""

import pytest
from django.utils import timezone

from issues.archive import cache as archive_cache
from issues.archive.corrections import publish_correction
from issues.models import Issue, Snapshot
from tests.support.archive import freeze
from tests.support.factories import make_issue, make_newsletter

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_archive(newsletter):
    """Enough issues, in two newsletters, that a per-issue query would show."""
    other = make_newsletter("river-weekly", "River Weekly")
    issues = [
        make_issue(newsletter if n % 2 else other, f"Tide table {n}", days_ago=40 - n)
        for n in range(25)
    ]
    return issues[12]


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/", 2),
        ("/archive/", 4),
        ("/archive/?newsletter=river-weekly&year=2020", 4),
        ("/search/?q=quay", 3),
        ("/feed/", 2),
        ("/feed/atom/", 2),
        ("/sitemap.xml", 2),
    ],
)
def test_uncached_page_runs_a_fixed_handful_of_queries(
    client, full_archive, path, limit, django_assert_max_num_queries
):
    with django_assert_max_num_queries(limit):
        assert client.get(path).status_code == 200


def test_issue_page_runs_two_queries_uncached_and_one_cached(
    client, full_archive, django_assert_num_queries
):
    with django_assert_num_queries(2):
        first = client.get(full_archive.get_absolute_url())
    with django_assert_num_queries(1):
        second = client.get(full_archive.get_absolute_url())
    assert first.content == second.content
    assert b'rel="prev"' in first.content and b'rel="next"' in first.content


def test_issue_page_is_served_from_the_cache(client, sent_issue):
    client.get(sent_issue.get_absolute_url())
    # Change the stored body behind the cache's back: the cached page must still answer.
    Snapshot.objects.filter(pk=sent_issue.snapshot.pk).update(web_html="<p>rewritten</p>")
    html = client.get(sent_issue.get_absolute_url()).content.decode()
    assert "rewritten" not in html
    assert "Reveal the lie" in html


def test_sending_again_replaces_the_cached_page(client, sent_issue):
    before = client.get(sent_issue.get_absolute_url())
    # As the sender does: a fresh snapshot replaces the old one.
    sent_issue.snapshot.delete()
    freeze(sent_issue, topic="lighthouse")
    after = client.get(sent_issue.get_absolute_url())

    assert b"lighthouse crews" in after.content
    assert after["ETag"] != before["ETag"]


def test_unpublishing_takes_a_cached_page_down_at_once(client, sent_issue):
    assert client.get(sent_issue.get_absolute_url()).status_code == 200
    sent_issue.show_in_archive = False
    sent_issue.save()
    assert client.get(sent_issue.get_absolute_url()).status_code == 200  # the editor's copy
    publish_correction(sent_issue)
    assert client.get(sent_issue.get_absolute_url()).status_code == 404


def test_status_change_takes_a_cached_page_down_at_once(client, sent_issue):
    assert client.get(sent_issue.get_absolute_url()).status_code == 200
    sent_issue.status = Issue.Status.SENDING
    sent_issue.save()
    assert client.get(sent_issue.get_absolute_url()).status_code == 404


def test_sending_the_next_issue_adds_the_next_link_to_the_cached_previous_one(
    client, newsletter, sent_issue
):
    assert b'rel="next"' not in client.get(sent_issue.get_absolute_url()).content
    assert b"Storm over the quay" in client.get("/").content

    following = make_issue(
        newsletter, "After the storm", status=Issue.Status.SENDING, topic="dockside"
    )
    following.status = Issue.Status.SENT
    following.published_at = timezone.now()
    following.save()

    assert (
        following.get_absolute_url().encode() in client.get(sent_issue.get_absolute_url()).content
    )
    assert b"After the storm" in client.get("/").content


def test_issue_page_answers_304_to_a_matching_etag(client, sent_issue):
    first = client.get(sent_issue.get_absolute_url())
    etag = first["ETag"]
    assert etag.startswith('"') and "public" in first["Cache-Control"]

    again = client.get(sent_issue.get_absolute_url(), headers={"if-none-match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_issue_page_answers_304_when_not_modified_since(client, sent_issue):
    first = client.get(sent_issue.get_absolute_url())
    again = client.get(
        sent_issue.get_absolute_url(),
        headers={"if-modified-since": first["Last-Modified"]},
    )
    assert again.status_code == 304


def test_a_stale_etag_gets_the_whole_new_page(client, sent_issue):
    etag = client.get(sent_issue.get_absolute_url())["ETag"]
    sent_issue.snapshot.delete()
    freeze(sent_issue, topic="lighthouse")

    again = client.get(sent_issue.get_absolute_url(), headers={"if-none-match": etag})

    assert again.status_code == 200
    assert b"lighthouse crews" in again.content


def test_home_and_archive_answer_304_too(client, sent_issue):
    for path in ["/", "/archive/"]:
        etag = client.get(path)["ETag"]
        assert client.get(path, headers={"if-none-match": etag}).status_code == 304, path


def test_public_pages_set_no_cookie_and_do_not_vary_on_it(client, sent_issue):
    for path in ["/", "/archive/", sent_issue.get_absolute_url()]:
        response = client.get(path)
        assert not response.cookies, path
        assert "Cookie" not in response.get("Vary", ""), path


def test_staff_preview_is_never_cached_for_the_public(client, admin_client, newsletter):
    draft = make_issue(newsletter, "Secret draft", status=Issue.Status.SENDING, topic="dockside")
    assert admin_client.get(draft.get_absolute_url()).status_code == 200
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_unpublishing_with_a_bulk_update_takes_the_page_down_too(client, sent_issue):
    """No signal to miss: the key is read from the database, however a row was changed."""
    assert client.get(sent_issue.get_absolute_url()).status_code == 200
    Snapshot.objects.filter(issue=sent_issue).update(show_in_archive=False)
    assert client.get(sent_issue.get_absolute_url()).status_code == 404


def test_a_change_shows_once_the_freshness_window_has_passed(
    client, sent_issue, settings, monkeypatch, django_assert_num_queries
):
    settings.ARCHIVE_FRESHNESS_SECONDS = 1.0
    clock = [1000.0]
    monkeypatch.setattr(archive_cache, "monotonic", lambda: clock[0])
    url = sent_issue.get_absolute_url()
    assert client.get(url).status_code == 200

    with django_assert_num_queries(0):  # within the window: no database at all
        assert client.get(url).status_code == 200
    Snapshot.objects.filter(issue=sent_issue).update(show_in_archive=False)
    clock[0] += 0.5
    assert client.get(url).status_code == 200  # still inside the window
    clock[0] += 0.6
    assert client.get(url).status_code == 404
