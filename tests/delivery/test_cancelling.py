"""Cancelling a send after some mail left: what went out stays true.

The issue stays published for the readers who got it (its page answers "View in your
browser", the dashboard lists it), the send keeps its partial figures, a subject test closes
with its figures so far, and "Send to the rest…" offers exactly the readers it did not reach.
Driven through the admin's own pages and its control POST; the tasks run in this process.
"""

import re
from collections import Counter

import pytest
from django.test import Client

from issues import delivery
from issues.delivery.queue import PLAN
from issues.models import Dispatch, Issue, SubjectTest
from tests.support.delivery import confirm_and_send, make_subscribers
from tests.support.factories import make_issue
from tests.support.tasks import InProcessQueue

SUBJECT_B = "Five papers, one quiz: the small-model week"


def admin_url(issue, page):
    return f"/admin/issues/issue/{issue.pk}/{page}/"


@pytest.fixture
def queue(monkeypatch):
    return InProcessQueue().install(monkeypatch)


@pytest.fixture
def issue(db):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 30)
    return issue


def received(sink):
    return Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def web_link(message):
    """The path of the "View in your browser" link of a received message."""
    text = message.message.get_body(("plain",)).get_content()
    url = re.search(r"View in your browser\W+(https?://[^\s<>()]+)", text)
    return "/" + url.group(1).split("://", 1)[1].split("/", 1)[1]


def cancel(client, issue):
    response = client.post(admin_url(issue, "control"), {"action": "cancel"})
    assert response.status_code == 302
    return Dispatch.objects.filter(issue=issue).latest("pk")


def assert_published_for_those_who_got_it(client, issue, sink, rest):
    """Published, readable from the mail, on the dashboard, the rest offered to send."""
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and issue.published_at is not None
    assert Client().get(web_link(sink.messages[0])).status_code == 200
    dashboard = client.get(f"/admin/issues/newsletter/{issue.newsletter_id}/dashboard/")
    assert issue.title in dashboard.content.decode()
    change = client.get(admin_url(issue, "change")).content.decode()
    assert "Send to the rest…" in change
    confirm = client.get(admin_url(issue, "send")).content.decode()
    assert f'id="recipient-count">{rest}<' in confirm


def send_the_rest(client, issue, queue, sink, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        confirm_and_send(client, issue)
    queue.run_due()
    counts = received(sink)
    assert len(counts) == 30 and set(counts.values()) == {1}, "someone missed or got two"


def test_a_subject_test_cancelled_during_its_wait_keeps_the_issue_and_its_figures(
    admin_client, issue, queue, smtp_sink, django_capture_on_commit_callbacks
):
    form = {
        "subject": [SUBJECT_B, "", ""],
        "test_percent": "20",
        "test_wait": "4 hours",
        "test_criterion": "clicks",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(admin_url(issue, "send"), form).status_code == 302
    queue.run_due()  # plan, then the test group: 6 readers, 3 per subject
    assert len(smtp_sink.messages) == 6

    dispatch = cancel(admin_client, issue)  # during the four hours' wait
    assert dispatch.status == Dispatch.Status.CANCELLED
    assert_published_for_those_who_got_it(admin_client, issue, smtp_sink, rest=24)
    progress = admin_client.get(admin_url(issue, "progress")).json()
    assert (progress["sent"], progress["cancelled"], progress["held"], progress["done"]) == (
        6,
        24,
        0,
        True,
    )
    test = progress["subject_test"]
    assert test["status"] == SubjectTest.Status.CANCELLED
    assert [v["sent"] for v in test["variants"]] == [3, 3]
    page = admin_client.get(admin_url(issue, "delivery")).content.decode()
    assert "Testing" not in page and "Cancelled: closed with its figures so far" in page
    report = admin_client.get(admin_url(issue, "report")).content.decode()
    assert "Testing" not in report and "cancelled before a winner was picked" in report

    send_the_rest(admin_client, issue, queue, smtp_sink, django_capture_on_commit_callbacks)
    subjects = Counter(m.message["Subject"] for m in smtp_sink.messages[6:])
    assert subjects == {issue.subject: 24}  # no winner: the issue's own subject


def test_a_send_cancelled_after_its_first_batch_keeps_the_issue_and_its_figures(
    admin_client, issue, queue, smtp_sink, settings, django_capture_on_commit_callbacks
):
    settings.SEND_BATCH_SIZE = 5
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(admin_url(issue, "send")).status_code == 302
    queue.run_next(PLAN)
    dispatch = Dispatch.objects.get(issue=issue)
    delivery.send_next_batch(dispatch)  # the first batch leaves; then the editor cancels

    cancel(admin_client, issue)
    assert_published_for_those_who_got_it(admin_client, issue, smtp_sink, rest=25)
    progress = admin_client.get(admin_url(issue, "progress")).json()
    assert (progress["planned"], progress["sent"], progress["cancelled"]) == (30, 5, 25)
    queue.run_due()  # the senders queued before the cancel find nothing to send
    assert len(smtp_sink.messages) == 5

    send_the_rest(admin_client, issue, queue, smtp_sink, django_capture_on_commit_callbacks)
    earlier = admin_client.get(admin_url(issue, "report")).content.decode()
    assert "Cancelled" in earlier
    dispatch.refresh_from_db()  # the cancelled send keeps the rows it sent, not those taken over
    assert dispatch.planned_count == dispatch.deliveries.count() == 5


def test_a_send_cancelled_before_anyone_got_it_is_a_draft_again(
    admin_client, issue, queue, smtp_sink, django_capture_on_commit_callbacks
):
    form = {"subject": [SUBJECT_B], "test_percent": "20", "test_wait": "4 hours"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(admin_url(issue, "send"), {**form, "test_criterion": "clicks"})
    queue.run_next(PLAN)
    cancel(admin_client, issue)
    issue.refresh_from_db()
    assert (issue.status, issue.published_at) == (Issue.Status.DRAFT, None)
    assert SubjectTest.objects.get().status == SubjectTest.Status.CANCELLED
    assert 'id="recipient-count">30<' in admin_client.get(admin_url(issue, "send")).text
