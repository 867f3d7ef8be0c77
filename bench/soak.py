"""``make soak``: one issue to 20,000 readers through three workers, each killed once.

Three production workers (``DEBUG`` off), each a separate process with its own working
directory, ``VAR_DIR`` and node name, and one beat, share only PostgreSQL, the broker, Redis
and an SMTP sink on loopback. During the send each worker in turn is killed with ``kill -9``
while a batch is claimed, and started again. Then, from the sink's own records:

- ``missing``: readers who got nothing (must be 0);
- ``duplicates``: extra copies, at most one batch per kill (``max_duplicates_allowed``:
  kills × ``SEND_BATCH_SIZE`` × worker concurrency);
- ``measured_rate``: messages per second in the busiest 5 s at the sink, which must not beat
  ``SEND_RATE_PER_SECOND`` (``rate_limit``) by more than 10%, whichever worker sent them;
- and no worker or beat wrote anything under its ``VAR_DIR``.

Prints ``SOAK workers=3 recipients=20000 kills=3 missing=... duplicates=...
max_duplicates_allowed=... rate_limit=... measured_rate=... ok=...`` and exits non-zero
unless ok.

Settings: ``SOAK_DATABASE_URL`` (default a ``superfast_soak`` database on the local
PostgreSQL, created when missing and emptied: never a real database), ``SOAK_BROKER_URL``
(default local Redis db 14; ``amqp`` for a RabbitMQ vhost of its own, made and deleted
here), ``SOAK_REDIS_URL`` (default db 15), ``SOAK_RECIPIENTS`` (20000), ``SOAK_RATE`` (150).
"""

import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_soak"
)
BROKER_URL = os.environ.get("SOAK_BROKER_URL", "redis://127.0.0.1:6379/14")
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/15")
RECIPIENTS = int(os.environ.get("SOAK_RECIPIENTS", "20000"))
RATE = float(os.environ.get("SOAK_RATE", "150"))
WORKERS = ["worker1", "worker2", "worker3"]
KILLS = [("worker1", 0.2), ("worker2", 0.45), ("worker3", 0.7)]
BATCH, CONCURRENCY = 100, 1
WORKER_SETTINGS = {
    "SEND_RATE_PER_SECOND": str(RATE),
    "SEND_BATCH_SIZE": str(BATCH),
    "SEND_PARALLEL_TASKS": str(2 * len(WORKERS) * CONCURRENCY),
    "SEND_LEASE_SECONDS": "10",
    "SEND_SWEEP_INTERVAL_SECONDS": "2",
    "SEND_RETRY_BASE_SECONDS": "1",
}

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    DEBUG="1",  # this process only prepares data and reads the sink; the workers are production
    DJANGO_SETTINGS_MODULE="superfast.settings",
    VAR_DIR=str(ROOT / "var" / "soak"),
)
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, reset_data  # noqa: E402


def soak(broker_url: str, work_dir: Path) -> bool:
    from django.core.management import call_command

    from issues import delivery
    from superfast.celery import app
    from tests.support.delivery import make_subscribers, wait_for_dispatch
    from tests.support.factories import make_issue
    from tests.support.fleet import ArrivalLog, Fleet, kill_and_restart_during_send, outcome

    call_command("migrate", interactive=False, verbosity=0)
    reset_data()
    issue = make_issue(frozen=True)
    readers = {reader.email for reader in make_subscribers(issue.newsletter, RECIPIENTS)}
    app.control.purge()
    env = {**WORKER_SETTINGS, "CELERY_BROKER_URL": broker_url, "REDIS_URL": REDIS_URL}
    with ArrivalLog() as sink, Fleet(work_dir, WORKERS, {**env, "EMAIL_PORT": sink.port}) as fleet:
        fleet.start_beat()
        fleet.start(*WORKERS)
        started = time.monotonic()
        dispatch = delivery.start_dispatch(issue)
        kill_and_restart_during_send(fleet, sink, RECIPIENTS, KILLS)
        wait_for_dispatch(dispatch, timeout=RECIPIENTS / RATE * 3 + 300)
        seconds = time.monotonic() - started
        arrivals = sink.snapshot()
        state = fleet.local_state()
    result = outcome(arrivals, readers, window=5.0)
    allowed = len(KILLS) * BATCH * CONCURRENCY
    ok = (
        result.missing == 0
        and result.duplicates <= allowed
        and result.measured_rate <= RATE * 1.1
        and not state
    )
    if state:
        print(f"# production workers wrote local files: {state}", flush=True)
    print(
        f"SOAK workers={len(WORKERS)} recipients={RECIPIENTS} kills={len(KILLS)} "
        + result.line(max_duplicates_allowed=allowed, rate_limit=f"{RATE:g}")
        + f" ok={str(ok).lower()} seconds={seconds:.0f}",
        flush=True,
    )
    return ok


def main() -> int:
    ensure_database(DATABASE_URL)
    from tests.support.brokers import rabbitmq_vhost

    with ExitStack() as stack:
        amqp = BROKER_URL == "amqp"
        broker_url = stack.enter_context(rabbitmq_vhost()) if amqp else BROKER_URL
        os.environ["CELERY_BROKER_URL"] = broker_url
        import django

        django.setup()
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        try:
            return 0 if soak(broker_url, work_dir) else 1
        finally:
            reset_data()


if __name__ == "__main__":
    sys.exit(main())
