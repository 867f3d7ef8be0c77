"""``make bench``: send a demo-sized issue to 10,000 and 100,000 subscribers.

PostgreSQL, Redis, a real Celery worker (one pool process per core) and Postfix's
``smtp-sink`` on loopback. The limit is measured in the same run against the same sink: the
same pre-built message over one persistent smtplib connection per core, no database, no
Celery. Prints one line per size:

    BENCH send n=... seconds=... msgs_per_s=... plan_seconds=... worker_peak_rss_mb=...
          limit_msgs_per_s=... ratio=...

Settings: ``BENCH_DATABASE_URL`` (default a ``superfast_bench`` database on the local
PostgreSQL, created when missing), ``BENCH_BROKER_URL`` / ``BENCH_REDIS_URL`` (default local
Redis dbs 14 and 15), ``BENCH_SIZES`` (default ``10000,100000``), ``SMTP_SINK`` (the binary;
``make bench`` unpacks it),
``BENCH_PROFILE=1`` to also profile the send loop (cProfile, top items to var/bench).
"""

import multiprocessing
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
CORES = os.cpu_count() or 1
LIMIT_MESSAGES = 20_000

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=BROKER_URL,
    REDIS_URL=REDIS_URL,
    DJANGO_SETTINGS_MODULE="superfast.settings",
    VAR_DIR=str(ROOT / "var" / "bench"),
)
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, reset_data  # noqa: E402


def start_sink():
    binary = os.environ.get("SMTP_SINK") or shutil.which("smtp-sink")
    if not binary:
        sys.exit("smtp-sink is missing: `make bench` unpacks it from Debian's postfix package")
    from tests.support.processes import free_port

    port = free_port()
    libs = Path(binary).resolve().parent.parent / "lib" / "postfix"
    env = {**os.environ, "LD_LIBRARY_PATH": str(libs)}
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([binary, *user, f"127.0.0.1:{port}", "1024"], env=env)
    for _ in range(100):
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("smtp-sink did not start")


def push(port, message, count, envelope_from, to):
    connection = smtplib.SMTP("127.0.0.1", port)
    for _ in range(count):
        connection.sendmail(envelope_from, [to], message)
    connection.quit()


def measure_limit(port, message):
    """The same message over one persistent connection per core: what the sink and
    smtplib allow with nothing of ours in the way."""
    per_core = LIMIT_MESSAGES // CORES
    args = (port, message, per_core, "news@example.org", "reader@example.com")
    workers = [multiprocessing.Process(target=push, args=args) for _ in range(CORES)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_core * CORES / (time.perf_counter() - started)


def peak_rss_mb(pid):
    """The highest resident set (VmHWM) of a process and its children, in MB."""
    from tests.support.delivery import children_of

    peak = 0
    for each in [pid, *children_of(pid)]:
        status = Path(f"/proc/{each}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        peak = max(peak, kb)
    return peak / 1024


def run(size, port, log_dir):
    from celery import current_app

    from issues import delivery, tasks
    from issues.models import Dispatch
    from tests.support.delivery import make_issue, make_subscribers
    from tests.support.processes import celery_worker

    reset_data()
    issue = make_issue()
    make_subscribers(issue.newsletter, size)
    current_app.control.purge()
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "SEND_PARALLEL_TASKS": CORES * 2,
        "SEND_BATCH_SIZE": 200,
    }
    with celery_worker(log_dir, concurrency=CORES, env=env) as worker:
        dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
        started = time.perf_counter()
        delivery.plan_dispatch(dispatch)
        plan_seconds = time.perf_counter() - started
        for _ in range(CORES * 2):
            tasks.send_dispatch.delay(dispatch.pk)
        while True:
            dispatch.refresh_from_db()
            if dispatch.status == Dispatch.Status.DONE:
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - started - plan_seconds
        rss = peak_rss_mb(worker.pid)
    sent = dispatch.deliveries.filter(status="sent").count()
    if sent != size:
        sys.exit(f"only {sent} of {size} sent")
    return seconds, plan_seconds, rss


def profile(port, size=5000):
    """The worker's send loop in this process under cProfile: where a message's time goes."""
    import cProfile
    import pstats

    from django.test import override_settings

    from issues import delivery
    from issues.models import Dispatch
    from tests.support.delivery import make_issue, make_subscribers

    reset_data()
    issue = make_issue()
    make_subscribers(issue.newsletter, size)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    mail = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, SEND_BATCH_SIZE=200, **mail):
        profiler = cProfile.Profile()
        profiler.runcall(delivery.run_sender, dispatch.pk, 600)
    out = ROOT / "var" / "bench" / "profile-send.txt"
    with open(out, "w") as handle:
        pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(25)
    print(f"# profile of {size} sends in one process: {out}")


def main():
    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from issues.delivery import IssueMessage, Recipient
    from issues.models import Dispatch

    call_command("migrate", interactive=False, verbosity=0)
    sink, port = start_sink()
    try:
        reset_data()
        from tests.support.delivery import make_issue

        issue = make_issue()
        message = IssueMessage(Dispatch(issue=issue, snapshot=issue.snapshot, pk=0))
        recipient = Recipient(1, 1, "reader@example.com", "Reader")
        sample = message.as_bytes(
            message.values(recipient, message.message_id(recipient, "0" * 32))
        )
        limit = measure_limit(port, sample)
        with tempfile.TemporaryDirectory() as log_dir:
            for size in SIZES:
                seconds, plan_seconds, rss = run(size, port, log_dir)
                rate = size / seconds
                print(
                    f"BENCH send n={size} seconds={seconds:.2f} msgs_per_s={rate:.0f} "
                    f"plan_seconds={plan_seconds:.2f} worker_peak_rss_mb={rss:.0f} "
                    f"limit_msgs_per_s={limit:.0f} ratio={rate / limit:.2f} "
                    f"message_bytes={len(sample)}",
                    flush=True,
                )
        if os.environ.get("BENCH_PROFILE"):
            profile(port)
        reset_data()
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
