"""Paste a link: the endpoint the editor polls, the worker's fetch through the one fetcher,
the page's own metadata read by an HTML parser, arXiv papers, the 7-day cache and the
"sent in #41" mark. Pages are served on loopback (FETCH_ALLOW_LOOPBACK); arXiv's abstract
page is a fixture served there too."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from issues.importers.link_preview import (
    arxiv_id,
    canonical_url,
    fetch_preview,
    page_summary,
    read_metadata,
)
from issues.importers.queue import LINK_PREVIEW
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.factories import make_issue, make_newsletter
from tests.support.pages import ARTICLE, PLAIN

ENDPOINT = "/admin/issues/issue/link-preview/"


@pytest.fixture
def pages(pages, settings):
    """The suite's loopback pages, arXiv's abstracts among them."""
    settings.ARXIV_ABS_URL = pages.url + "/abs/"
    return pages


@pytest.fixture
def sent_tasks(monkeypatch):
    """Task names sent to the broker, noted instead of sent (the worker's part is run by
    calling the task's function, as the worker would)."""
    from superfast.celery import app

    names = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args=(), **kwargs: names.append((name, args))
    )
    return names


@pytest.fixture
def editor_client(client, db):
    staff("ed", "change_issue", "view_issue")
    client.login(username="ed", password=STAFF_PASSWORD)
    return client


def poll(client, url, capture, **params):
    with capture(execute=True):
        return client.get(ENDPOINT, {"url": url, **params})


def test_open_graph_comes_first_and_comments_and_scripts_are_not_read():
    meta = read_metadata(ARTICLE)
    assert page_summary(meta) == (
        "Small models learn to read tables",
        "A 3B model matches GPT-4 on spreadsheet questions, with a trick anyone can copy.",
    )


def test_title_and_meta_description_when_a_page_has_no_open_graph():
    assert page_summary(read_metadata(PLAIN)) == (
        "Only a title & nothing else",
        "The meta description.",
    )


def test_a_long_description_is_cut_to_one_line_at_a_word():
    page = b'<head><meta name="description" content="' + b"word " * 100 + b'"></head>'
    note = page_summary(read_metadata(page))[1]
    assert len(note) <= 200 and note.endswith("word…")


@pytest.mark.parametrize(
    "text",
    [
        "2401.00001",
        "arXiv:2401.00001",
        "https://arxiv.org/abs/2401.00001",
        "https://arxiv.org/pdf/2401.00001.pdf",
    ],
)
def test_an_arxiv_id_or_link_names_the_abstract_page(text):
    assert arxiv_id(text) == "2401.00001"
    assert canonical_url(text) == "https://arxiv.org/abs/2401.00001"


def test_only_editors_may_ask_and_other_staff_are_refused(client, db, sent_tasks):
    staff("viewer", "view_issue")
    assert client.get(ENDPOINT, {"url": "https://news.example.org/"}).status_code == 302
    client.login(username="viewer", password=STAFF_PASSWORD)
    assert client.get(ENDPOINT, {"url": "https://news.example.org/"}).status_code == 403
    assert sent_tasks == []


def test_a_link_is_fetched_once_by_the_worker_then_served_from_the_cache(
    editor_client, pages, sent_tasks, django_capture_on_commit_callbacks
):
    url = pages.url + "/article"
    first = poll(editor_client, url, django_capture_on_commit_callbacks)
    assert first.status_code == 200
    assert first.json() == {
        "url": url,
        "status": "pending",
        "title": "",
        "note": "",
        "error": "",
        "sent_in": [],
    }
    assert sent_tasks == [(LINK_PREVIEW, (url,))]
    poll(editor_client, url, django_capture_on_commit_callbacks)  # still pending: not asked again
    assert len(sent_tasks) == 1

    assert fetch_preview(*sent_tasks[0][1]) == "ready"  # what the worker's task runs
    answer = poll(editor_client, url, django_capture_on_commit_callbacks).json()
    assert answer["status"] == "ready"
    assert answer["title"] == "Small models learn to read tables"
    assert answer["note"].startswith("A 3B model matches GPT-4")
    assert len(sent_tasks) == 1 and pages.paths() == ["/article"]

    with freeze_time(timezone.now() + timedelta(days=6, hours=23)):
        assert (
            poll(editor_client, url, django_capture_on_commit_callbacks).json()["status"] == "ready"
        )
    with freeze_time(timezone.now() + timedelta(days=7, hours=1)):
        stale = poll(editor_client, url, django_capture_on_commit_callbacks).json()
    assert stale["status"] == "pending" and len(sent_tasks) == 2


def test_an_arxiv_id_gives_the_papers_title_and_first_author(
    editor_client, pages, sent_tasks, django_capture_on_commit_callbacks
):
    first = poll(editor_client, "arXiv:2401.00001", django_capture_on_commit_callbacks).json()
    assert first["url"] == "https://arxiv.org/abs/2401.00001"
    fetch_preview(*sent_tasks[0][1])
    answer = poll(editor_client, "2401.00001", django_capture_on_commit_callbacks).json()
    assert (answer["title"], answer["note"]) == (
        "Attention Is Still All You Need",
        "Ashish Vaswani et al.",
    )
    assert pages.paths() == ["/abs/2401.00001"]  # the fixture, never arxiv.org


def test_a_page_that_cannot_be_previewed_says_why(
    editor_client, pages, sent_tasks, django_capture_on_commit_callbacks
):
    for path, why in [("/image", "not a web page"), ("/missing", "answered 404")]:
        poll(editor_client, pages.url + path, django_capture_on_commit_callbacks)
        fetch_preview(pages.url + path)
        answer = poll(editor_client, pages.url + path, django_capture_on_commit_callbacks).json()
        assert answer["status"] == "failed" and why in answer["error"]


def test_a_private_address_is_refused_by_the_worker_not_fetched(settings, db):
    settings.FETCH_ALLOW_LOOPBACK = False
    assert fetch_preview("http://127.0.0.1:9/secret") == "failed"


@pytest.mark.parametrize("text", ["", "javascript:alert(1)", "file:///etc/passwd", "x" * 2001])
def test_what_is_no_web_link_is_refused_with_400(editor_client, sent_tasks, text):
    response = editor_client.get(ENDPOINT, {"url": text})
    assert response.status_code == 400 and response.json()["error"]
    assert sent_tasks == []


def test_a_link_sent_in_an_earlier_issue_of_the_newsletter_is_marked(
    editor_client, sent_tasks, django_capture_on_commit_callbacks
):
    weekly = make_newsletter()
    make_issue(weekly, "Forty", days_ago=14, frozen=True, sections=2, number=40)
    make_issue(weekly, "Forty-one", days_ago=7, frozen=True, sections=1, number=41)
    make_issue(weekly, "Draft", frozen=True, sections=3, number=42)  # frozen, never sent
    other = make_newsletter("field-notes", "Field Notes")
    make_issue(other, "Elsewhere", days_ago=3, frozen=True, sections=1, number=7)

    def marked(url):
        return poll(
            editor_client, url, django_capture_on_commit_callbacks, newsletter=weekly.pk
        ).json()["sent_in"]

    assert marked("https://example.org/read/0") == [41, 40]
    assert marked("https://example.org/read/1") == [40]
    assert marked("https://example.org/read/2") == []
    answer = editor_client.get(
        ENDPOINT, {"url": "https://example.org/read/0", "newsletter": other.pk}
    )
    assert answer.json()["sent_in"] == [7]
