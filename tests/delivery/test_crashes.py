"""Crashes and outages lose nobody, and duplicate at most the batch that was in flight."""

import subprocess
from collections import Counter

import pytest
from kombu import Connection

from issues import delivery, tasks
from issues.models import Dispatch
from tests.support.delivery import (
    kill_hard,
    make_issue,
    make_subscribers,
    wait_for_dispatch,
)
from tests.support.processes import free_port, stop_process
from tests.support.smtp import SmtpSink
from tests.support.waiting import wait_until

BATCH = 50  # SEND_BATCH_SIZE in the workers of these tests


def assert_everyone_once_but_the_batch_in_flight(sink, readers, in_flight_batches=1):
    received = Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)
    assert set(received) == {reader.email for reader in readers}, "someone is missing"
    duplicates = sum(received.values()) - len(received)
    assert duplicates <= BATCH * in_flight_batches, f"{duplicates} duplicates"
    return duplicates


def test_kill_9_mid_send_then_a_new_worker_misses_nobody_and_duplicates_at_most_one_batch(
    start_worker, smtp_sink
):
    issue = make_issue()
    readers = make_subscribers(issue.newsletter, 5000)
    doomed = start_worker()
    dispatch = delivery.start_dispatch(issue)

    def mid_batch():
        # Killed while a batch is claimed, not in the short gap between two batches.
        in_flight = dispatch.deliveries.filter(status="sending").exists()
        return len(smtp_sink.messages) >= 1500 and in_flight

    wait_until(mid_batch, interval=0.005, what="1,500 messages sent and a batch in flight")
    kill_hard(doomed)
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.SENDING

    start_worker(extra_args=["--beat"])  # its beat runs the sweeper every second
    wait_for_dispatch(dispatch, timeout=180)

    duplicates = assert_everyone_once_but_the_batch_in_flight(smtp_sink, readers)
    assert dispatch.deliveries.filter(status="sent").count() == 5000
    print(f"kill -9 mid-send: {duplicates} duplicate(s), bound {BATCH}")


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, which the test may stop and start again."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]

    class Server:
        url = f"redis://127.0.0.1:{port}"

        def start(self):
            self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            wait_until(self.answers, timeout=10, what="redis-server answering")

        def answers(self):
            try:
                with Connection(self.url + "/0", connect_timeout=0.5) as conn:
                    conn.ensure_connection(max_retries=1)
                return True
            except Exception:
                return False

        def stop(self):
            stop_process(self.proc)

    server = Server()
    server.start()
    yield server
    server.stop()


def test_a_send_survives_a_redis_restart(transactional_db, tmp_path, private_redis, fast_retries):
    sink = SmtpSink().start()
    try:
        issue = make_issue()
        readers = make_subscribers(issue.newsletter, 3000)
        env = {
            **sink.env(),
            "CELERY_BROKER_URL": private_redis.url + "/0",
            "REDIS_URL": private_redis.url + "/1",
            "SEND_RATE_PER_SECOND": "300",
            "SEND_BATCH_SIZE": str(BATCH),
            "SEND_LEASE_SECONDS": "4",
            "SEND_SWEEP_INTERVAL_SECONDS": "1",
            "SEND_RETRY_BASE_SECONDS": "0.5",
        }
        from tests.support.processes import celery_worker

        with celery_worker(tmp_path, env=env, extra_args=["--beat"]):
            dispatch = Dispatch.objects.create(
                issue=issue, snapshot=issue.snapshot, status=Dispatch.Status.PLANNING
            )
            with Connection(private_redis.url + "/0") as conn:
                tasks.plan_dispatch.apply_async((dispatch.pk,), connection=conn)
            wait_until(lambda: len(sink.messages) >= 600, what="600 messages sent")
            private_redis.stop()
            stopped_at = len(sink.messages)
            private_redis.start()  # empty: every queued task is gone
            wait_for_dispatch(dispatch, timeout=180)
        assert stopped_at < 3000, "the restart came after the send"
        assert_everyone_once_but_the_batch_in_flight(sink, readers)
    finally:
        sink.stop()
