"""Outcomes land in the right ledger fields: retries back off, figures tell the truth."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from issues import delivery
from tests.support.admin import staff
from tests.support.delivery import make_subscribers, planned_dispatch, wait_for_dispatch
from tests.support.factories import make_issue
from tests.support.waiting import wait_until


@pytest.mark.django_db
def test_sent_and_failed_rows_carry_finished_at_and_a_retry_waits_its_backoff(smtp_sink, settings):
    settings.SEND_RETRY_BASE_SECONDS = 30
    dispatch = planned_dispatch(5)
    emails = [d.subscriber.email for d in dispatch.deliveries.order_by("id")]
    smtp_sink.replies[emails[1]] = "550 5.1.1 Unknown user"
    smtp_sink.replies[emails[2]] = "451 4.7.1 Greylisted, try again later"
    before = timezone.now()

    delivery.send_next_batch(dispatch)

    rows = {d.subscriber.email: d for d in dispatch.deliveries.select_related("subscriber")}
    for email in (emails[0], emails[3], emails[4]):
        assert rows[email].status == "sent" and rows[email].finished_at >= before
    failed = rows[emails[1]]
    assert failed.status == "failed" and failed.finished_at >= before
    retry = rows[emails[2]]
    assert retry.status == "pending" and retry.finished_at is None
    assert "451" in retry.last_error
    # First retry: the base delay, ±50% jitter.
    assert before + timedelta(seconds=15) <= retry.next_attempt_at
    assert retry.next_attempt_at <= timezone.now() + timedelta(seconds=45)
    assert delivery.claim_batch(dispatch.pk, 10)[1] == []  # nothing is due before then


def greylisting(sink, addresses, hold_seconds):
    """The sink answers 451 to each address until ``hold_seconds`` after its first attempt."""
    attempts = {address: [] for address in addresses}

    def reply(address):
        times = attempts[address.lower()]
        times.append(time.monotonic())
        if times[-1] - times[0] < hold_seconds:
            return "451 4.7.1 Greylisted, please try again later"
        return None

    for address in addresses:
        sink.replies[address] = reply
    return attempts


@pytest.mark.timed
def test_a_greylisted_address_is_delivered_with_retries_spaced_by_the_backoff(
    start_worker, smtp_sink
):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 20)
    greylisted = [reader.email for reader in readers[:3]]
    attempts = greylisting(smtp_sink, greylisted, hold_seconds=5)
    base = 1.0
    start_worker(env={"SEND_RETRY_BASE_SECONDS": str(base), "SEND_MAX_ATTEMPTS": "6"})

    dispatch = wait_for_dispatch(delivery.start_dispatch(issue), timeout=60)

    received = {rcpt for message in smtp_sink.messages for rcpt in message.rcpt_tos}
    assert received == {reader.email for reader in readers}
    assert dispatch.deliveries.filter(status="sent").count() == 20
    for address in greylisted:
        times = attempts[address]
        assert len(times) >= 3, f"{address}: {len(times)} attempts"
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        for n, gap in enumerate(gaps):
            delay = base * 2**n
            # ±50% jitter; up to 1.5 s more for the sender task to come round again.
            assert delay * 0.5 - 0.1 <= gap <= delay * 1.5 + 1.5, f"{address}: gaps {gaps}"
        print(f"greylisted {address}: gaps {[round(g, 2) for g in gaps]} s")
    row = dispatch.deliveries.get(subscriber__email=greylisted[0])
    assert row.attempts == len(attempts[greylisted[0]]) and row.finished_at is not None


@pytest.mark.timed
def test_progress_shows_a_live_rate_and_eta_then_duration_and_average_rate(
    start_worker, smtp_sink, client
):
    client.force_login(staff("publisher", "send_issue", "change_issue", "view_issue"))
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 240)
    start_worker(env={"SEND_RATE_PER_SECOND": "30"})
    dispatch = delivery.start_dispatch(issue)
    url = f"/admin/issues/issue/{issue.pk}/progress/"
    live = []

    def poll():
        figures = json.loads(client.get(url).content)
        if figures["status"] == "sending" and figures["sent"] >= 60:
            live.append(figures)
        return figures["done"] and figures

    done = wait_until(poll, timeout=60, interval=0.5, what="the send to finish")
    assert live, "never saw the send under way"
    print("rates", [(f["sent"], f["rate_per_second"], f["eta_seconds"]) for f in live])
    for figures in live:
        assert 20 <= figures["rate_per_second"] <= 40, figures
        assert figures["eta_seconds"] is not None and figures["eta_seconds"] >= 0, figures
    assert live[0]["eta_seconds"] > 0
    assert done["sent"] == 240 and done["eta_seconds"] is None
    assert 6 <= done["duration_seconds"] <= 12, done
    assert 20 <= done["average_rate_per_second"] <= 40, done
    assert done["started_at"] and done["finished_at"]
    page = client.get(f"/admin/issues/issue/{issue.pk}/delivery/").text
    assert "Duration" in page and "average" in page
    assert issue.get_absolute_url() in page and f"/admin/issues/issue/{issue.pk}/report/" in page
    dispatch.refresh_from_db()
    print(f"live rate {live[0]['rate_per_second']}/s, done in {done['duration_seconds']} s")
