"""The dispatch's lifecycle where two moves meet: each test here is a path the state machine
(test_lifecycle_state_machine.py) walks, kept as a plain example.

Tasks run in this process (tests.support.tasks); mail goes to the loopback SMTP sink.
"""

from collections import Counter

import pytest
from django.test import TestCase

from issues import delivery
from issues.delivery import sender
from issues.models import Delivery, Dispatch, Issue
from subscribers.models import Subscriber, Tag
from subscribers.services import add_tag
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue
from tests.support.tasks import Clock, InProcessQueue

Status = Delivery.Status


@pytest.fixture
def clock(monkeypatch):
    from django.utils import timezone

    clock = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def queue(monkeypatch, clock):
    return InProcessQueue(clock).install(monkeypatch)


@pytest.fixture
def issue(db, settings):
    settings.SEND_BATCH_SIZE = 3
    issue = make_issue(frozen=True, sections=1)
    make_subscribers(issue.newsletter, 6)
    return issue


def start(issue, queue, **audience):
    """Start a send as the confirmation page does, and let the plan task run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        dispatch = delivery.start_dispatch(issue, **audience)
    queue.run_next("issues.tasks.plan_dispatch")
    dispatch.refresh_from_db()
    return dispatch


def received(sink):
    return Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def pressing_during_a_batch(monkeypatch, control):
    """The editor presses ``control`` after the sender claimed its batch, before it sends."""
    claim = sender.claim

    def claim_then_press(dispatch):
        claimed = claim(dispatch)
        control(Dispatch.objects.get(pk=dispatch.pk))
        return claimed

    monkeypatch.setattr(sender, "claim", claim_then_press)


def test_a_send_started_from_a_copy_loaded_before_the_first_readers_keeps_the_issue_published(
    issue, queue, smtp_sink
):
    stale = Issue.objects.get(pk=issue.pk)  # an admin page opened while it was a draft
    first = Tag.objects.create(name="first")
    add_tag(Subscriber.objects.filter(pk__in=[s.pk for s in Subscriber.objects.all()[:2]]), first)
    start(issue, queue, tag=first)
    queue.run_due()
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT

    start(stale, queue)  # "Send to the rest…" from that page
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT, "published, then unpublished by the rest's send"


def test_cancelling_while_a_batch_is_in_flight_leaves_no_row_waiting(
    issue, queue, smtp_sink, monkeypatch
):
    """The batch's retries and untried rows come back after the cancel: they are cancelled
    too, so the rest of the list is offered instead of waiting for a send that never comes."""
    dispatch = start(issue, queue)
    refused = dispatch.deliveries.order_by("id")[1].subscriber.email
    smtp_sink.replies[refused] = "451 4.7.1 Greylisted, try again later"
    pressing_during_a_batch(monkeypatch, delivery.cancel)
    delivery.send_next_batch(dispatch)

    statuses = Counter(dispatch.deliveries.values_list("status", flat=True))
    assert statuses == {Status.SENT: 2, Status.CANCELLED: 4}
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert delivery.recipient_count(issue) == 4


def test_pausing_while_the_last_batch_is_in_flight_finishes_the_send(
    issue, queue, smtp_sink, monkeypatch, settings
):
    settings.SEND_BATCH_SIZE = 6
    dispatch = start(issue, queue)
    pressing_during_a_batch(monkeypatch, delivery.pause)
    queue.run_due()  # the sender sends its batch, then finds its dispatch paused

    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE, "paused with nothing left to resume"
    assert len(received(smtp_sink)) == 6


def test_a_dead_workers_claim_on_a_cancelled_send_returns_as_cancelled(
    issue, queue, smtp_sink, clock
):
    dispatch = start(issue, queue)
    delivery.claim_batch(dispatch.pk, 3)  # a worker claims a batch and is killed
    delivery.cancel(dispatch)
    clock.advance(3600)  # its lease runs out
    delivery.sweep(clock())

    statuses = Counter(dispatch.deliveries.values_list("status", flat=True))
    assert statuses == {Status.CANCELLED: 6}
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT  # it reached nobody
    assert delivery.recipient_count(issue) == 6


def test_a_send_that_reached_nobody_leaves_the_issue_a_draft_to_send_again(issue, queue, smtp_sink):
    for reader in Subscriber.objects.all():
        smtp_sink.replies[reader.email] = "550 5.1.1 No such user here"
    dispatch = start(issue, queue)
    queue.run_due()
    dispatch.refresh_from_db()
    issue.refresh_from_db()
    assert dispatch.status in {Dispatch.Status.DONE, Dispatch.Status.PAUSED}
    assert (issue.status, issue.published_at) == (Issue.Status.DRAFT, None)
    smtp_sink.replies.clear()
    assert delivery.recipient_count(issue) == 6

    delivery.retry_failed(dispatch)  # the mail server is back
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING, "a draft with a send going"
    queue.run_due()
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and len(received(smtp_sink)) == 6


def test_retrying_a_cancelled_sends_failures_changes_nothing_the_rest_offers_them(
    issue, queue, smtp_sink, client, django_user_model
):
    refused = Subscriber.objects.order_by("id").first().email
    smtp_sink.replies[refused] = "550 5.1.1 No such user here"
    dispatch = start(issue, queue)
    delivery.send_next_batch(dispatch)  # 2 sent, 1 refused
    delivery.cancel(dispatch)
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.org", "x"))
    page = client.get(f"/admin/issues/issue/{issue.pk}/delivery/").content.decode()
    assert "Retry 1 failed" not in page

    assert delivery.retry_failed(dispatch) == 0  # a forged or stale POST
    statuses = Counter(dispatch.deliveries.values_list("status", flat=True))
    assert statuses == {Status.SENT: 2, Status.FAILED: 1, Status.CANCELLED: 3}
    assert delivery.recipient_count(issue) == 4
