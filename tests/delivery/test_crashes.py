"""Crashes and outages lose nobody, and duplicate at most the batch that was in flight."""

import time
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.db.models import Max
from django.utils import timezone
from kombu import Connection

from issues import delivery, tasks
from issues.models import Dispatch
from tests.support.delivery import (
    children_of,
    kill_hard,
    make_subscribers,
    record_arrival_times,
    wait_for_dispatch,
)
from tests.support.factories import make_issue
from tests.support.postgres import PrivatePostgres
from tests.support.preloaded import preloaded_python
from tests.support.processes import ROOT, WORKER_SETTINGS, celery_worker, child_env
from tests.support.smtp import SmtpSink
from tests.support.waiting import wait_until

BATCH = 50  # SEND_BATCH_SIZE in the workers of these tests


def assert_everyone_once_but_the_batch_in_flight(sink, readers, in_flight_batches=1):
    received = Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)
    assert set(received) == {reader.email for reader in readers}, "someone is missing"
    duplicates = sum(received.values()) - len(received)
    assert duplicates <= BATCH * in_flight_batches, f"{duplicates} duplicates"
    return duplicates


@pytest.mark.timed
def test_kill_9_mid_send_then_a_new_worker_misses_nobody_and_duplicates_at_most_one_batch(
    start_worker, smtp_sink
):
    arrivals = record_arrival_times(smtp_sink)
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 3000)
    doomed = start_worker()
    pids = [*children_of(doomed.pid), doomed.pid]
    dispatch = delivery.start_dispatch(issue)

    def mid_batch():
        # Killed while a batch is claimed, not in the short gap between two batches.
        in_flight = dispatch.deliveries.filter(status="sending").exists()
        return len(smtp_sink.messages) >= 1000 and in_flight

    wait_until(mid_batch, interval=0.005, what="1,000 messages sent and a batch in flight")
    kill_hard(doomed, pids)
    killed_at, killed_wall = time.monotonic(), timezone.now()
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.SENDING
    stranded = set(dispatch.deliveries.filter(status="sending").values_list("pk", flat=True))

    start_worker(extra_args=["--beat"])  # its beat runs the sweeper every second
    wait_for_dispatch(dispatch, timeout=180)

    duplicates = assert_everyone_once_but_the_batch_in_flight(smtp_sink, readers)
    assert dispatch.deliveries.filter(status="sent").count() == 3000
    assert not dispatch.deliveries.filter(pk__in=stranded).exclude(status="sent").exists()
    recovery = max(arrivals) - killed_at
    # The dead worker's batch (when the kill left one claimed): delivered again when?
    stranded_back = dispatch.deliveries.filter(pk__in=stranded).aggregate(at=Max("finished_at"))
    stranded_recovery = (stranded_back["at"] - killed_wall).total_seconds() if stranded else 0.0
    lease = float(WORKER_SETTINGS["SEND_LEASE_SECONDS"])
    # The dead worker's claim expires after one lease unrenewed; the sweeper (every second
    # here) or the new worker's sender returns its rows, first in line. The bound allows for
    # a new worker starting up on a busy machine; the figures are printed for the record
    # (the time to the last delivery includes sending the other 2,000).
    assert stranded_recovery < lease + 45, f"{stranded_recovery:.1f} s to resend the batch"
    print(
        f"kill -9 mid-send: {duplicates} duplicate(s), bound {BATCH}; "
        f"kill to last delivery {recovery:.1f} s; the {len(stranded)} rows the dead worker "
        f"held delivered {stranded_recovery:.1f} s after the kill (lease {lease:.0f} s)"
    )


def test_a_live_sender_renews_its_claim_so_a_batch_longer_than_the_lease_is_sent_once(
    start_worker, smtp_sink
):
    """A batch of 50 at 20 messages/s takes 2.5 s, longer than the 2 s lease: without the
    heartbeat the sweeper would hand its rows to the other sender while they are sent."""
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 200)
    env = {"SEND_RATE_PER_SECOND": "20", "SEND_LEASE_SECONDS": "2"}
    start_worker(concurrency=2, env=env, extra_args=["--beat"])

    wait_for_dispatch(delivery.start_dispatch(issue), timeout=60)

    received = Counter(rcpt for message in smtp_sink.messages for rcpt in message.rcpt_tos)
    assert set(received) == {reader.email for reader in readers}
    assert sum(received.values()) == 200, "a live sender's rows were taken from it"


def test_a_mail_server_away_for_a_while_costs_time_not_duplicates(start_worker, smtp_sink):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 1500)
    start_worker(env={"SEND_RATE_PER_SECOND": "300"})
    dispatch = delivery.start_dispatch(issue)
    wait_until(lambda: len(smtp_sink.messages) >= 400, what="400 messages sent")

    smtp_sink.controller.stop()  # connections refused from now on
    away_since, went_away = time.monotonic(), timezone.now()
    # Away for a while: until the senders, failing to connect, still put rows back (due
    # SEND_RETRY_BASE_SECONDS later) more than a second and a half into the outage.
    put_back_late = dispatch.deliveries.filter(
        status="pending", next_attempt_at__gt=went_away + timedelta(seconds=2)
    )
    wait_until(put_back_late.exists, timeout=60, what="senders failing for over 1.5 s")
    away = time.monotonic() - away_since
    smtp_sink.controller = Controller(smtp_sink.handler, hostname="127.0.0.1", port=smtp_sink.port)
    smtp_sink.controller.start()
    wait_for_dispatch(dispatch, timeout=90)

    received = Counter(rcpt for message in smtp_sink.messages for rcpt in message.rcpt_tos)
    assert set(received) == {reader.email for reader in readers}, "someone is missing"
    duplicates = sum(received.values()) - len(received)
    # Only a message the server took while going away, its reply lost, can come twice.
    assert duplicates <= 1, f"{duplicates} duplicates"
    assert dispatch.deliveries.filter(status="sent").count() == 1500
    print(f"mail server away for {away:.1f} s: {duplicates} duplicate(s)")


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_a_send_survives_a_redis_restart(transactional_db, tmp_path, private_redis, fast_retries):
    sink = SmtpSink().start()
    try:
        issue = make_issue(frozen=True)
        readers = make_subscribers(issue.newsletter, 1500)
        env = {
            **sink.env(),
            "CELERY_BROKER_URL": private_redis.address + "/0",
            "REDIS_URL": private_redis.address + "/1",
            "SEND_RATE_PER_SECOND": "300",
            "SEND_BATCH_SIZE": str(BATCH),
            "SEND_LEASE_SECONDS": "4",
            "SEND_SWEEP_INTERVAL_SECONDS": "1",
            "SEND_RETRY_BASE_SECONDS": "0.5",
        }
        with celery_worker(tmp_path, env=env, extra_args=["--beat"]):
            dispatch = Dispatch.objects.create(
                issue=issue, snapshot=issue.snapshot, status=Dispatch.Status.PLANNING
            )
            with Connection(private_redis.address + "/0") as conn:
                tasks.plan_dispatch.apply_async((dispatch.pk,), connection=conn)
            wait_until(lambda: len(sink.messages) >= 400, what="400 messages sent")
            private_redis.stop()
            stopped_at = len(sink.messages)
            private_redis.start()  # empty: every queued task is gone
            wait_for_dispatch(dispatch, timeout=180)
        assert stopped_at < 1500, "the restart came after the send"
        assert_everyone_once_but_the_batch_in_flight(sink, readers)
    finally:
        sink.stop()


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().create()
    yield server
    server.destroy()


READERS = 1500  # of the database restart test

SCENARIO = """
from issues.models import Issue
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue
issue = make_issue(frozen=True)
make_subscribers(issue.newsletter, {count})
print(issue.pk)
"""


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_a_database_restart_mid_send_loses_nobody_and_sends_nobody_twice(
    tmp_path, private_postgres
):
    """Everything (migrations, subscribers, the worker, the send) runs against a PostgreSQL
    of this test's own, restarted at about 30% of the send (1,500 readers at 300 a second:
    about 1.5 s before the restart, 3.5 s after it)."""
    sink = SmtpSink().start()
    try:
        env = {
            **sink.env(),
            "DATABASE_URL": private_postgres.url,
            "VAR_DIR": str(tmp_path),
            "CELERY_BROKER_URL": "filesystem://",
            "REDIS_URL": None,
            "SEND_RATE_PER_SECOND": "300",
            "SEND_BATCH_SIZE": str(BATCH),
            "SEND_LEASE_SECONDS": "10",
            "SEND_SWEEP_INTERVAL_SECONDS": "1",
            "SEND_RETRY_BASE_SECONDS": "0.5",
        }

        def manage(*args):
            done = preloaded_python().run(
                ["manage.py", *args], env=child_env(**env), cwd=ROOT, timeout=120
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        manage("migrate", "--verbosity=0")
        issue_id = manage("shell", "-c", SCENARIO.format(count=READERS)).split()[-1]
        with celery_worker(tmp_path, env=env, extra_args=["--beat"]):
            manage("send_issue", issue_id)
            wait_until(lambda: len(sink.messages) >= READERS * 0.3, timeout=60, what="30% sent")
            restarted_at = time.monotonic()
            private_postgres.restart()
            sent_before = len(sink.messages)

            def dispatch_done():
                with psycopg.connect(
                    private_postgres.url.replace("postgres://", "postgresql://")
                ) as db:
                    (status,) = db.execute("SELECT status FROM issues_dispatch").fetchone()
                return status == "done"

            wait_until(dispatch_done, timeout=90, interval=0.5, what="the dispatch to finish")
            finished_after = time.monotonic() - restarted_at
        received = Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)
        assert sent_before < READERS, "the restart came after the send"
        assert len(received) == READERS, "someone is missing"
        duplicates = sum(received.values()) - len(received)
        assert duplicates == 0, f"{duplicates} duplicates"
        print(
            f"database restart at {sent_before} of {READERS}: 0 duplicates, "
            f"done {finished_after:.1f} s after the restart"
        )
    finally:
        sink.stop()
