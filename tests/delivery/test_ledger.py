"""The ledger's rules, in process: planning, claims, leases, auto-pause, the command."""

import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from issues import delivery
from issues.models import Delivery, Dispatch
from subscribers.models import Subscription
from tests.support.delivery import planned_dispatch
from tests.support.factories import make_issue
from tests.support.statistics import analyze

pytestmark = pytest.mark.django_db


def test_planning_twice_or_in_a_second_dispatch_plans_nobody_twice():
    dispatch = planned_dispatch(30)
    assert dispatch.planned_count == 30
    dispatch.status = Dispatch.Status.PLANNING
    delivery.plan_dispatch(dispatch)
    second = Dispatch.objects.create(issue=dispatch.issue, snapshot=dispatch.snapshot)
    assert delivery.plan_dispatch(second) == 0
    assert Delivery.objects.filter(issue=dispatch.issue).count() == 30


def test_claims_are_disjoint_and_a_claimed_row_is_not_claimed_again():
    dispatch = planned_dispatch(30)
    _, first = delivery.claim_batch(dispatch.pk, 20)
    _, second = delivery.claim_batch(dispatch.pk, 20)
    assert len(first) == 20 and len(second) == 10
    assert not {row.delivery_id for row in first} & {row.delivery_id for row in second}
    assert delivery.claim_batch(dispatch.pk, 20)[1] == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_claim_passes_over_rows_another_worker_holds_without_waiting_for_them():
    """Another worker's claim in flight holds its rows locked: a claim takes the next due
    rows at once, in due order, each with its reader and its attempt counted."""
    import psycopg
    from django.db import connection

    dispatch = planned_dispatch(10)
    ids = sorted(dispatch.deliveries.values_list("id", flat=True))
    conninfo = connection.get_connection_params()
    with connection.cursor() as cursor:  # a claim that waited would fail, not hang
        cursor.execute("SET lock_timeout = '3s'")
    try:
        with psycopg.connect(**conninfo) as other:
            locked = "SELECT id FROM issues_delivery WHERE id = ANY(%s) FOR UPDATE"
            other.execute(locked, [ids[:4]])
            started = time.monotonic()
            token, rows = delivery.claim_batch(dispatch.pk, 10)
            waited = time.monotonic() - started
            other.rollback()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert waited < 1
    assert [row.delivery_id for row in rows] == ids[4:]
    readers = dict(dispatch.deliveries.values_list("id", "subscriber__email"))
    assert all(row.email == readers[row.delivery_id] and row.attempts == 1 for row in rows)
    claimed = Delivery.objects.filter(claim_token=token)
    assert sorted(claimed.values_list("id", flat=True)) == ids[4:]
    assert set(claimed.values_list("status", flat=True)) == {"sending"}
    assert not Delivery.objects.filter(id__in=ids[:4]).exclude(status="pending").exists()


def test_outcomes_land_on_their_own_rows_with_the_esps_ids_or_ours():
    """Each row gets its own message id (the ESP's, or ours built from the row) and its own
    error, whatever mix a batch comes back with."""
    from issues.delivery.ledger import mark
    from issues.delivery.outcomes import Outcome

    dispatch = planned_dispatch(5)
    token, rows = delivery.claim_batch(dispatch.pk, 5)
    a, b, c, d, e = (row.delivery_id for row in rows)
    mark(
        token,
        [
            Outcome(a, "sent", message_id="esp-id-a"),
            Outcome(b, "sent", message_id="esp-id-b"),
            Outcome(c, "sent"),
            Outcome(d, "failed", "Postmark 406: inactive"),
            Outcome(e, "failed", "Postmark 300: invalid"),
        ],
        [],
        message_id_suffix=f".{token}@example.org",
    )

    got = dict(Delivery.objects.filter(dispatch=dispatch).values_list("id", "message_id"))
    assert (got[a], got[b], got[c]) == ("esp-id-a", "esp-id-b", f"{c}.{token}@example.org")
    errors = dict(Delivery.objects.filter(dispatch=dispatch).values_list("id", "last_error"))
    assert (errors[d], errors[e]) == ("Postmark 406: inactive", "Postmark 300: invalid")


def test_sweeper_returns_rows_whose_lease_expired_and_only_those(settings):
    dispatch = planned_dispatch(10)
    delivery.claim_batch(dispatch.pk, 4)
    assert delivery.sweep_expired_claims() == 0
    later = timezone.now() + timedelta(seconds=settings.SEND_LEASE_SECONDS + 1)
    assert delivery.sweep_expired_claims(later) == 4
    assert dispatch.deliveries.filter(status="pending").count() == 10


def test_a_run_of_permanent_failures_pauses_the_dispatch_with_the_reason(smtp_sink, settings):
    settings.SEND_AUTOPAUSE_WINDOW = 10
    settings.SEND_BATCH_SIZE = 5
    dispatch = planned_dispatch(40)
    smtp_sink.replies.update(
        {d.subscriber.email: "550 5.7.1 Sender blocked" for d in dispatch.deliveries.all()}
    )
    delivery.run_sender(dispatch.pk)
    dispatch.refresh_from_db()
    assert dispatch.status == "paused"
    assert "10 of the last 10 messages failed" in dispatch.pause_reason
    assert "550" in dispatch.pause_reason
    assert dispatch.deliveries.filter(status="pending").count() == 30  # the rest is kept


def test_pause_resume_cancel_and_retry_failed_touch_only_what_they_should(smtp_sink, settings):
    dispatch = planned_dispatch(6)
    for row in dispatch.deliveries.select_related("subscriber").order_by("id")[:2]:
        smtp_sink.replies[row.subscriber.email] = "550 no"
    settings.SEND_BATCH_SIZE = 2
    delivery.send_next_batch(dispatch)
    assert dispatch.deliveries.filter(status="failed").count() == 2
    assert delivery.pause(dispatch)
    assert delivery.run_sender(dispatch.pk) is None and not smtp_sink.messages
    assert delivery.retry_failed(dispatch) == 2
    assert dispatch.deliveries.filter(status="pending").count() == 6
    assert delivery.cancel(dispatch)
    assert dispatch.deliveries.filter(status="cancelled").count() == 6


def test_a_schedule_missed_beyond_the_grace_period_is_held_for_an_editor(settings):
    settings.SEND_SCHEDULE_GRACE_SECONDS = 600
    issue = make_issue(frozen=True)
    now = timezone.now()
    on_time = delivery.start_dispatch(issue, when=now + timedelta(minutes=5))
    late = make_issue(title="Another one", frozen=True)
    missed = delivery.start_dispatch(late, when=now + timedelta(minutes=1))
    Dispatch.objects.filter(pk=missed.pk).update(scheduled_for=now - timedelta(hours=2))
    started = delivery.start_due_dispatches(now + timedelta(minutes=6))
    assert [d.pk for d in started] == [on_time.pk]
    missed.refresh_from_db()
    assert missed.status == "held" and "grace" in missed.pause_reason


def test_send_issue_sends_a_test_copy_and_rejects_bad_input(smtp_sink, capsys):
    issue = make_issue(frozen=True)
    call_command("send_issue", f"{issue.newsletter.slug}/{issue.slug}", test_to=["me@example.net"])
    assert "test copy" in capsys.readouterr().out
    (received,) = smtp_sink.messages
    assert received.message["Subject"].startswith("[TEST] ")
    with pytest.raises(CommandError, match="not an email address"):
        call_command("send_issue", str(issue.pk), test_to=["nobody"])
    with pytest.raises(CommandError, match="No issue"):
        call_command("send_issue", "9999")
    with pytest.raises(CommandError, match="id or newsletter-slug"):
        call_command("send_issue", "what")


def test_unsubscribe_link_from_header_unsubscribes_with_one_post(smtp_sink):
    dispatch = planned_dispatch(1)
    delivery.run_sender(dispatch.pk)
    (received,) = smtp_sink.messages
    header = received.message["List-Unsubscribe"]
    url = header.split("<", 1)[1].split(">", 1)[0]
    assert url.startswith("http")
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().post("/" + path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscription = Subscription.objects.get(newsletter=dispatch.issue.newsletter)
    assert subscription.status == "unsubscribed"


@pytest.mark.parametrize("pipelining", [False, True])
def test_one_connection_carries_accepted_refused_and_greylisted_recipients(
    smtp_sink, monkeypatch, pipelining
):
    """Refusals reset the transaction; the connection goes on with the next recipient."""
    from django.core.mail.backends.smtp import EmailBackend

    dispatch = planned_dispatch(6)
    emails = [d.subscriber.email for d in dispatch.deliveries.order_by("id")]
    smtp_sink.replies[emails[1]] = "550 5.1.1 Unknown user"
    smtp_sink.replies[emails[3]] = "451 4.3.0 Try later"
    original_open = EmailBackend.open

    def open_with(self):
        opened = original_open(self)
        self.connection.ehlo()
        if pipelining:  # aiosmtpd reads pipelined commands in order, as RFC 2920 servers do
            self.connection.esmtp_features["pipelining"] = ""
        return opened

    monkeypatch.setattr(EmailBackend, "open", open_with)
    delivery.send_next_batch(dispatch)
    statuses = dict(dispatch.deliveries.values_list("subscriber__email", "status"))
    assert [statuses[e] for e in emails] == ["sent", "failed", "sent", "pending", "sent", "sent"]
    received = [m.rcpt_tos[0] for m in smtp_sink.messages]
    assert received == [emails[0], emails[2], emails[4], emails[5]]
    assert all(m.message["List-Unsubscribe-Post"] for m in smtp_sink.messages)


def test_lines_starting_with_a_dot_arrive_intact(smtp_sink):
    dispatch = planned_dispatch(1)
    snapshot = dispatch.snapshot
    snapshot.text = ".A line that starts with a dot\n.\n..two\n" + snapshot.text
    snapshot.save()
    delivery.send_next_batch(dispatch)
    (received,) = smtp_sink.messages
    text = received.message.get_payload()[0].get_content().replace("\r\n", "\n")
    assert text.startswith(".A line that starts with a dot\n.\n..two\n")


@pytest.mark.postgresql
def test_every_query_of_a_batch_is_answered_by_an_index_on_a_big_ledger(smtp_sink, settings):
    """At a million rows, one query per batch that reads the whole ledger makes the send
    crawl (a claimed batch was once read back by its token, which no index holds)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SEND_BATCH_SIZE = 50
    dispatch = planned_dispatch(5_000)
    analyze("issues_delivery")
    with CaptureQueriesContext(connection) as queries:
        assert delivery.send_next_batch(dispatch) == 50
    plans = {}
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if "issues_delivery" in sql and sql.split()[0] in {"SELECT", "UPDATE", "WITH"}:
                cursor.execute(f"EXPLAIN {sql}")
                plans[sql] = "\n".join(row[0] for row in cursor.fetchall())
    assert len(plans) >= 3  # sweep, claim (on PostgreSQL with its read back), mark
    scans = [sql for sql, plan in plans.items() if "Seq Scan on issues_delivery" in plan]
    assert scans == []


@pytest.mark.parametrize("audience", ["everyone", "tag"])
@pytest.mark.postgresql
def test_each_chunk_of_a_plan_reads_only_its_own_range_of_the_list(audience, settings):
    """At a million readers, each chunk of 10,000 hashed all million subscriptions: a
    range of subscriber ids does not cross a join by itself. Each table is bounded."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from issues.delivery import planning
    from subscribers.models import Subscriber, Tag
    from tests.support.delivery import make_subscribers

    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 20_000)
    tag = Tag.objects.create(name="everyone tagged")
    Subscriber.tags.through.objects.bulk_create(
        Subscriber.tags.through(subscriber=reader, tag=tag) for reader in readers
    )
    analyze()
    dispatch = Dispatch.objects.create(
        issue=issue, snapshot=issue.snapshot, tag=tag if audience == "tag" else None
    )
    settings.DEBUG = True  # keep the statements' text
    planning.PLAN_CHUNK, chunk = 2_000, planning.PLAN_CHUNK
    try:
        with CaptureQueriesContext(connection) as queries:
            assert delivery.plan_dispatch(dispatch) == 20_000
    finally:
        planning.PLAN_CHUNK = chunk
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 10
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {inserts[4]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan


@pytest.mark.timed
def test_a_batch_of_retries_each_due_at_its_own_moment_is_marked_as_cheaply_as_one_sent():
    """Each transient outcome carries its own retry time (now plus a jittered backoff), so
    a batch of 500 retries, as an ESP's outage gives, writes 500 different values: each
    row gets its own, and writing them costs little more than writing 500 sent rows (the
    ORM's ``Case`` of 500 ``When``s took 50-60 ms of CPU, twenty to fifty times more)."""
    from issues.delivery.ledger import mark
    from issues.delivery.outcomes import Outcome

    size, now = 500, timezone.now()
    dispatch = planned_dispatch(2 * size)

    def cpu_seconds_to_mark(outcomes_for) -> tuple[float, dict]:
        token, rows = delivery.claim_batch(dispatch.pk, size)
        outcomes = [outcomes_for(n, row.delivery_id) for n, row in enumerate(rows)]
        started = time.process_time()
        mark(token, outcomes, [], message_id_suffix=".x@example.org")
        seconds = time.process_time() - started
        return seconds, {o.delivery_id: o for o in outcomes}

    sent, _ = cpu_seconds_to_mark(lambda n, row: Outcome(row, "sent"))
    retries, outcomes = cpu_seconds_to_mark(
        lambda n, row: Outcome(
            row, "pending", f"451 greylisted ({n % 3})", retry_at=now + timedelta(microseconds=n)
        )
    )

    written = Delivery.objects.filter(id__in=outcomes).values_list(
        "id", "status", "next_attempt_at", "last_error"
    )
    assert sorted(written) == sorted(
        (row, "pending", o.retry_at, o.error) for row, o in outcomes.items()
    )
    print(f"marking {size}: sent {sent * 1000:.1f} ms, retries {retries * 1000:.1f} ms of CPU")
    assert retries <= 6 * sent + 0.01
