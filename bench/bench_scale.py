"""``make bench``: a million subscribers imported, planned, sent and browsed in the admin.

On a PostgreSQL database of its own, with Redis as the broker and Postfix's ``smtp-sink``
on loopback as the mail endpoint:

1. ``import_seconds``: a CSV of N lines, written to disk line by line (never held in
   memory), imported through the admin's path: ``start_import`` stores the file and queues
   ``subscribers.tasks.import_subscribers``, which a real Celery worker (one pool process)
   runs, streamed, batch by batch. That worker is stopped before the send, so its memory
   does not count as the sending worker's. Timed from ``start_import`` to the job's end.
2. ``plan_seconds``: planning one issue to all N (``plan_dispatch``, as ``bench_send`` does).
3. ``send_msgs_per_s``: the send by one real worker with one pool process per core (2 on
   the 2-core machine), and ``ratio`` to the raw limit of the same sink measured in the same
   run (``limit_msgs_per_s``, ``bench.support.measure_limit``). ``worker_peak_rss_mb`` is
   the worker's peak resident set (VmHWM, its largest process) at the end, ``rss_10k_mb`` the
   same once 10,000 were sent: equal figures mean memory stays flat as the send grows.
4. ``admin_ms_max``: the slowest admin page of ``bench.admin_pages`` (median of 3 after
   one warm-up, Django's test client in this process, ``DEBUG`` off, logged in as a
   superuser): the subscriber list plain, filtered by status, by newsletter and by both,
   searched by an address prefix; the issue list; the delivery page, the delivery report,
   the engagement report and the dashboard. Before it the ledger is filled to 10 rows per
   subscriber (10M at a million, as the issue asks): 9 more sent issues, their delivery rows
   added with one ``INSERT … SELECT`` each. Each page's time is printed as a ``# admin`` line.

Prints ``# `` progress lines, then last:

    BENCH scale subscribers=... import_seconds=... plan_seconds=... send_msgs_per_s=...
          ratio=... worker_peak_rss_mb=... admin_ms_max=... rss_10k_mb=...
          limit_msgs_per_s=... delivery_rows=... seconds=... ok=...

``ok`` is whether the issue's targets held (import under 90 s and planning under 30 s per
million, ratio at least 0.75, every page under 500 ms); the exit status is 0 either way
unless something broke.

Settings: ``BENCH_SCALE`` (subscribers, default 1,000,000; 200,000 for a quicker run),
``BENCH_SCALE_DATABASE_URL`` (default a ``superfast_bench_scale`` database on the local
PostgreSQL, dropped and created again at each run: never a real database),
``BENCH_SCALE_BROKER_URL`` / ``BENCH_SCALE_REDIS_URL`` (default local Redis dbs 14 and 15),
``SMTP_SINK`` (the binary; ``make bench`` unpacks it).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    CORES,
    ensure_database,
    measure_limit,
    peak_rss_mb,
    reset_data,
    sample_message,
    send_planned,
    sending_env,
    start_sink,
)

LEDGER_ROWS_PER_SUBSCRIBER = 10
RSS_EARLY_SENT = 10_000
ADMIN_LIMIT_MS = 500
RATIO_TARGET = 0.75
IMPORT_SECONDS_PER_MILLION, PLAN_SECONDS_PER_MILLION = 90, 30


def say(line: str) -> None:
    print(f"# {line}", flush=True)


def write_csv(path: Path, count: int) -> int:
    """A subscriber list of ``count`` lines, written as it is generated; its size in bytes."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("email;name\n")
        chunk = 10_000
        for start in range(0, count, chunk):
            out.write(
                "".join(
                    f"reader{n}@example{n % 97}.org;Reader {n}\n"
                    for n in range(start, min(start + chunk, count))
                )
            )
    return path.stat().st_size


def import_through_worker(path: Path, newsletter, log_dir) -> float:
    """``path`` imported by a real worker, queued as the admin queues it: the seconds taken."""
    from django.core.files import File

    from subscribers.imports import import_progress, start_import
    from subscribers.models import ImportJob
    from tests.support.processes import celery_worker

    with celery_worker(log_dir, concurrency=1), open(path, "rb") as binary:
        started = time.perf_counter()
        job = start_import(File(binary, name=path.name), newsletter)
        shown = started
        while True:
            job.refresh_from_db()
            if job.status in {ImportJob.Status.DONE, ImportJob.Status.FAILED}:
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() - shown > 15:
                shown = time.perf_counter()
                say(f"import {import_progress(job)['percent']}% ({job.lines} lines)")
            time.sleep(0.2)
    if job.status != ImportJob.Status.DONE:
        sys.exit(f"the import failed: {job.error}")
    say(f"import: {job.summary()} in {seconds:.1f} s")
    return seconds


class SendWatch:
    """Between looks at the dispatch: the worker's peak RSS once ``RSS_EARLY_SENT`` were sent,
    and a progress line now and then."""

    def __init__(self, dispatch, worker_pid: int):
        self.dispatch, self.worker_pid = dispatch, worker_pid
        self.rss_early_mb = None
        self.shown = time.perf_counter()

    def sent(self) -> int:
        return self.dispatch.deliveries.filter(status="sent").count()

    def __call__(self) -> None:
        if self.rss_early_mb is None and self.sent() >= RSS_EARLY_SENT:
            self.rss_early_mb = peak_rss_mb(self.worker_pid)
            say(f"worker peak RSS {self.rss_early_mb:.0f} MB at {RSS_EARLY_SENT} sent")
        if time.perf_counter() - self.shown > 30:
            self.shown = time.perf_counter()
            say(f"sent {self.sent()}")


def plan_and_send(issue, port: int, log_dir) -> dict:
    """Plan ``issue`` to everyone, then send it with a real worker: the figures."""
    from issues import delivery
    from issues.models import Dispatch
    from tests.support.processes import celery_worker

    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    started = time.perf_counter()
    planned = delivery.plan_dispatch(dispatch)
    plan_seconds = time.perf_counter() - started
    say(f"planned {planned} deliveries in {plan_seconds:.1f} s")
    with celery_worker(log_dir, concurrency=CORES, env=sending_env(port)) as worker:
        watch = SendWatch(dispatch, worker.pid)
        seconds = send_planned(dispatch, watch=watch)
        rss = peak_rss_mb(worker.pid)
    sent = watch.sent()
    if sent != planned:
        sys.exit(f"only {sent} of {planned} sent")
    say(f"sent {sent} in {seconds:.1f} s")
    return {
        "plan_seconds": plan_seconds,
        "send_msgs_per_s": sent / seconds,
        "worker_peak_rss_mb": rss,
        "rss_10k_mb": watch.rss_early_mb if watch.rss_early_mb is not None else rss,
    }


def fill_ledger(newsletter, back_issues: int) -> int:
    """``back_issues`` more issues sent to every subscriber of ``newsletter``, their delivery
    rows written in set-based SQL (the send path would take hours): the ledger's size."""
    from django.db import connection
    from django.utils import timezone

    from issues.models import Delivery, Dispatch, Issue
    from tests.support.factories import make_issue

    for number in range(1, back_issues + 1):
        started = time.perf_counter()
        issue = make_issue(newsletter, f"Back issue {number}", frozen=True)
        now = timezone.now()
        Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT, published_at=now)
        dispatch = Dispatch.objects.create(
            issue=issue, snapshot=issue.snapshot, status=Dispatch.Status.DONE, started_at=now
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Delivery._meta.db_table} (dispatch_id, issue_id, subscriber_id, "
                "status, attempts, claim_token, last_error, message_id, esp_event, finished_at) "
                "SELECT %s, %s, subscriber_id, 'sent', 1, '', '', '', '', %s "
                "FROM subscribers_subscription WHERE newsletter_id = %s",
                [dispatch.pk, issue.pk, now, newsletter.pk],
            )
            rows = cursor.rowcount
        Dispatch.objects.filter(pk=dispatch.pk).update(
            planned_count=rows, finished_at=timezone.now()
        )
        say(f"back issue {number}: {rows} delivery rows in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    return Delivery.objects.count()


def admin_times(issue, newsletter) -> dict[str, float]:
    """``bench.admin_pages``' pages and timing, through Django's test client in this process
    logged in as a superuser (HTTPS, as production serves them)."""
    from django.test import Client, override_settings

    from bench.admin_pages import admin_page_times

    client = Client()
    client.force_login(bench_user())
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        return admin_page_times(client, newsletter_id=newsletter.pk, issue_id=issue.pk)


def bench_user():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="bench-scale", defaults={"is_staff": True, "is_superuser": True}
    )
    return user


def measure(count: int, port: int, work_dir: Path, limit_messages: int = 0) -> dict:
    """Every figure of the summary line for ``count`` subscribers, sending into the SMTP
    server on ``port`` (Django set up, the database migrated and empty, the broker's queue
    purged)."""
    from tests.support.factories import make_issue

    started = time.perf_counter()
    issue = make_issue(frozen=True)
    newsletter = issue.newsletter
    limit = measure_limit(
        port, sample_message(issue), *([limit_messages] if limit_messages else [])
    )
    say(f"raw limit of the sink: {limit:.0f} messages/s")
    csv_path = work_dir / "subscribers.csv"
    size = write_csv(csv_path, count)
    say(f"wrote {count} lines ({size / 1e6:.0f} MB) to {csv_path}")
    figures = {"import_seconds": import_through_worker(csv_path, newsletter, work_dir)}
    csv_path.unlink()
    figures.update(plan_and_send(issue, port, work_dir))
    rows = fill_ledger(newsletter, LEDGER_ROWS_PER_SUBSCRIBER - 1)
    times = admin_times(issue, newsletter)
    for name, ms in times.items():
        say(f"admin {name}: {ms:.0f} ms")
    figures.update(
        ratio=figures["send_msgs_per_s"] / limit,
        admin_ms_max=max(times.values()),
        limit_msgs_per_s=limit,
        delivery_rows=rows,
        seconds=time.perf_counter() - started,
    )
    return figures


def summary(count: int, figures: dict) -> str:
    millions = max(count / 1_000_000, 0.01)
    ok = (
        figures["import_seconds"] < IMPORT_SECONDS_PER_MILLION * millions
        and figures["plan_seconds"] < PLAN_SECONDS_PER_MILLION * millions
        and figures["ratio"] >= RATIO_TARGET
        and figures["admin_ms_max"] < ADMIN_LIMIT_MS
    )
    f = figures
    return (
        f"BENCH scale subscribers={count} import_seconds={f['import_seconds']:.2f} "
        f"plan_seconds={f['plan_seconds']:.2f} send_msgs_per_s={f['send_msgs_per_s']:.0f} "
        f"ratio={f['ratio']:.2f} worker_peak_rss_mb={f['worker_peak_rss_mb']:.0f} "
        f"admin_ms_max={f['admin_ms_max']:.0f} rss_10k_mb={f['rss_10k_mb']:.0f} "
        f"limit_msgs_per_s={f['limit_msgs_per_s']:.0f} delivery_rows={f['delivery_rows']} "
        f"seconds={f['seconds']:.0f} ok={'yes' if ok else 'no'}"
    )


def main() -> int:
    count = int(os.environ.get("BENCH_SCALE", "1000000"))
    database_url = os.environ.get(
        "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench_scale"
    )
    os.environ.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=os.environ.get("BENCH_SCALE_BROKER_URL", "redis://127.0.0.1:6379/14"),
        REDIS_URL=os.environ.get("BENCH_SCALE_REDIS_URL", "redis://127.0.0.1:6379/15"),
        DJANGO_SETTINGS_MODULE="superfast.settings",
        VAR_DIR=str(ROOT / "var" / "bench"),
    )
    # Production settings (DEBUG off) need a key to sign with; this one signs bench data only.
    os.environ.setdefault("SECRET_KEY", "bench-scale-key-for-throwaway-data-only")
    ensure_database(database_url, fresh=True)  # no statistics left from an earlier run
    import django

    django.setup()
    from celery import current_app
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    reset_data()
    current_app.control.purge()
    say(f"{count} subscribers on {database_url.rsplit('/', 1)[-1]}")
    sink, port = start_sink()
    try:
        with tempfile.TemporaryDirectory(dir=ROOT / "var" / "bench") as work_dir:
            figures = measure(count, port, Path(work_dir))
    finally:
        sink.terminate()
        sink.wait()
        reset_data()
    print(summary(count, figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
