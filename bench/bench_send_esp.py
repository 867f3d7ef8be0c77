"""``make bench``: an issue sent to 100,000 readers through an ESP's HTTP API.

A fake of Postmark's API on loopback (``bench/fake_postmark.py``: its batch endpoint's shape
and limits, 500 messages and 50 MB per call) takes what a real Celery worker (one pool
process per core) sends the way the project sends to Postmark: the Postmark batch transport
(``issues/delivery/transports/postmark_batch.py``, ``SEND_POSTMARK_BATCH``) posts each claimed
batch of 500 readers' own messages to ``/email/batch`` in one call, with anymail's Postmark
settings (server token, API URL) pointed at the fake, and production's settings (DEBUG off).
The limit is measured in the same run against the same fake: as many messages as the send,
in pre-built batches of 500, built by the same transport as the worker builds them, posted
straight to ``/email/batch`` by one process per core once the fake is warm. Prints:

    BENCH send_esp readers=... msgs_per_s=... limit_msgs_per_s=... ratio=...
          rss_mb_start=... rss_mb_end=... fake_us_alone=... fake_us=... worker_us=...
          postgres_us=... cores_busy=... ok=yes|no

The CPU figures say where the time went, per message: the fake's alone (while the limit is
measured) and during the send, the worker's processes', and the local PostgreSQL server's
(less the bench's own connection; 0 on SQLite or a server elsewhere); ``cores_busy`` is the
share of the machine's cores busy during the send. The fake shares the cores with the rest,
so the ratio can reach at most about
``CORES * fake_us_alone * cores_busy / (fake_us + worker_us + postgres_us)``
(docs/performance.md).

``ok``: every reader's delivery sent and accepted by the fake, ratio >= 0.7, and the
worker's memory flat (at the end no more than ``RSS_GROWTH_MB`` over what it held once the
first batches were out). Settings: ``BENCH_ESP_READERS`` (default 100000), and the database,
broker and Redis of ``bench/bench_send.py`` (``BENCH_DATABASE_URL``, ``BENCH_BROKER_URL``,
``BENCH_REDIS_URL``).
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET = 0.7
RSS_GROWTH_MB = 20
BATCH = 500  # Postmark's most messages per batch call
TOKEN = "bench-server-token"


def say(text: str) -> None:
    print(f"# {text}", flush=True)


def start_fake_api():
    """The fake Postmark API in its own process on a free loopback port: (process, port)."""
    from tests.support.processes import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_postmark", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout is None or proc.stdout.readline().strip() != "ready":
        proc.kill()
        sys.exit("the fake Postmark API did not start")
    return proc, port


def accepted(port: int) -> int:
    """How many messages the fake API has accepted so far."""
    import requests

    return requests.get(f"http://127.0.0.1:{port}/stats", timeout=10).json()["messages"]


def prebuilt_batch(issue, port: int) -> bytes:
    """A batch call's body: ``BATCH`` readers' messages as the Postmark batch transport
    builds them (sender, reader, subject, both bodies, headers, metadata)."""
    from anymail.backends.postmark import EmailBackend as PostmarkBackend

    from issues.delivery import IssueMessage, Recipient
    from issues.delivery.transports.postmark_batch import PostmarkBatch
    from issues.models import Dispatch

    message = IssueMessage(Dispatch(issue=issue, snapshot=issue.snapshot, pk=0))
    backend = PostmarkBackend(server_token=TOKEN, api_url=f"http://127.0.0.1:{port}/")
    transport = PostmarkBatch(message, backend)
    messages = []
    for n in range(BATCH):
        recipient = Recipient(n, n, f"reader{n}@example.com", "Reader")
        values = message.values(recipient, message.message_id(recipient, "0" * 32))
        messages.append(transport.entry(recipient, values))
    return b"[" + b",".join(messages) + b"]"


def post_batches(port: int, body: bytes, calls: int) -> None:
    import requests

    with requests.Session() as session:
        for _ in range(calls):
            response = session.post(
                f"http://127.0.0.1:{port}/email/batch",
                data=body,
                headers={"Content-Type": "application/json", "X-Postmark-Server-Token": TOKEN},
                timeout=60,
            )
            response.raise_for_status()


def measure_limit(port: int, body: bytes, messages: int) -> float:
    """Messages per second the fake API takes in pre-built batches, one poster per core:
    what the API allows with nothing of ours in the way. As many messages as the send, after
    a warm-up: a cold fake took its first batches at two thirds of its speed, so a short
    cold run understated the limit by anything up to half."""
    from bench.support import CORES

    post_together(port, body, 2)  # warm-up: the fake's threads and memory
    calls = max(1, messages // BATCH // CORES)
    started = time.perf_counter()
    post_together(port, body, calls)
    return calls * CORES * BATCH / (time.perf_counter() - started)


def post_together(port: int, body: bytes, calls: int) -> None:
    """``calls`` batch calls from each of one poster per core, at once."""
    from bench.support import CORES

    posters = [
        multiprocessing.Process(target=post_batches, args=(port, body, calls)) for _ in range(CORES)
    ]
    for poster in posters:
        poster.start()
    for poster in posters:
        poster.join()
    if any(poster.exitcode for poster in posters):
        sys.exit("posting pre-built batches to the fake API failed")


def esp_env(port: int, work_dir: Path, production: bool = True) -> dict:
    """A worker's settings to send through the Postmark batch transport into the fake API:
    production's (DEBUG off: with it on, the worker also logged every query it ran), unless
    ``production`` is off (the test suite's embedded broker is one production refuses)."""
    from django.conf import settings

    from bench.bench_archive import free_port, site_env
    from bench.support import CORES
    from tests.support.processes import database_url

    site = site_env(work_dir, free_port(), database_url()) if production else {}
    return site | {
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "ANYMAIL_WEBHOOK_SECRET": "bench:bench",  # production refuses an open webhook
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": TOKEN,
        "ANYMAIL_POSTMARK_API_URL": f"http://127.0.0.1:{port}/",
        "SEND_ESP_MERGE_FIELD": "",
        "SEND_POSTMARK_BATCH": "1",
        "SEND_PARALLEL_TASKS": CORES * 2,
        "SEND_BATCH_SIZE": BATCH,
    }


def busy_and_all_cpu_seconds() -> tuple[float, float]:
    """The machine's CPU seconds so far: busy (all but idle and I/O wait), and all."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


def worker_rss_mb(pid: int) -> float:
    """The largest resident set (VmRSS, now) of the worker and its pool processes, in MB."""
    from tests.support.delivery import children_of

    largest = 0
    for each in [pid, *children_of(pid)]:
        status = Path(f"/proc/{each}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        largest = max(largest, kb)
    return largest / 1024


def measure(readers: int, work_dir: Path, production: bool = True) -> dict:
    """Every figure of the summary line for ``readers`` (Django set up, the database migrated
    and empty, the broker's queue purged)."""
    from bench.support import CORES, cpu_seconds, postgres_cpu_seconds, send_planned
    from issues import delivery
    from issues.models import Dispatch
    from tests.support.delivery import children_of, make_subscribers
    from tests.support.factories import make_issue
    from tests.support.processes import celery_worker

    api, port = start_fake_api()
    try:
        issue = make_issue(frozen=True)
        body = prebuilt_batch(issue, port)
        fake_cpu = cpu_seconds([api.pid])
        limit = measure_limit(port, body, readers)
        say(f"raw limit of the fake API: {limit:.0f} messages/s in batches of {BATCH}")
        before = accepted(port)  # the warm-up's and the limit's
        fake_alone = (cpu_seconds([api.pid]) - fake_cpu) / before
        make_subscribers(issue.newsletter, readers)
        say(f"{readers} readers made")
        env = esp_env(port, work_dir, production)
        with celery_worker(work_dir, concurrency=CORES, env=env) as worker:
            say("worker ready")
            dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
            delivery.plan_dispatch(dispatch)
            rss_start: list[float] = []

            def watch() -> None:
                # Once the first batches are out, every pool process holds its message.
                if not rss_start and dispatch.deliveries.filter(status="sent").count() >= min(
                    readers // 10 or 1, BATCH * CORES
                ):
                    rss_start.append(worker_rss_mb(worker.pid))

            processes = [worker.pid, *children_of(worker.pid)]
            cpu = cpu_seconds(processes), cpu_seconds([api.pid]), busy_and_all_cpu_seconds()
            postgres_cpu = postgres_cpu_seconds()
            seconds = send_planned(dispatch, watch=watch)
            say(f"sent in {seconds:.1f} s")
            busy_now, all_now = busy_and_all_cpu_seconds()
            busy, all_cpu = busy_now - cpu[2][0], all_now - cpu[2][1]
            worker_cpu = cpu_seconds(processes) - cpu[0]
            fake_cpu = cpu_seconds([api.pid]) - cpu[1]
            postgres_cpu = postgres_cpu_seconds() - postgres_cpu
            rss_end = worker_rss_mb(worker.pid)
        sent = dispatch.deliveries.filter(status="sent").count()
        return {
            "readers": readers,
            "msgs_per_s": readers / seconds,
            "limit_msgs_per_s": limit,
            "rss_mb_start": rss_start[0] if rss_start else rss_end,
            "rss_mb_end": rss_end,
            "fake_us_alone": fake_alone * 1e6,
            "fake_us": fake_cpu / readers * 1e6,
            "worker_us": worker_cpu / readers * 1e6,
            "postgres_us": postgres_cpu / readers * 1e6,
            "cores_busy": busy / all_cpu,
            "sent": sent,
            "api_accepted": accepted(port) - before,
        }
    finally:
        api.terminate()
        api.wait()


def summary(figures: dict) -> str:
    ratio = figures["msgs_per_s"] / figures["limit_msgs_per_s"]
    ok = (
        figures["sent"] == figures["readers"] == figures["api_accepted"]
        and ratio >= RATIO_TARGET
        and figures["rss_mb_end"] - figures["rss_mb_start"] <= RSS_GROWTH_MB
    )
    return (
        f"BENCH send_esp readers={figures['readers']} msgs_per_s={figures['msgs_per_s']:.0f} "
        f"limit_msgs_per_s={figures['limit_msgs_per_s']:.0f} ratio={ratio:.2f} "
        f"rss_mb_start={figures['rss_mb_start']:.0f} rss_mb_end={figures['rss_mb_end']:.0f} "
        f"fake_us_alone={figures['fake_us_alone']:.0f} fake_us={figures['fake_us']:.0f} "
        f"worker_us={figures['worker_us']:.0f} postgres_us={figures['postgres_us']:.0f} "
        f"cores_busy={figures['cores_busy']:.2f} ok={'yes' if ok else 'no'}"
    )


def main():
    os.environ.update(
        DATABASE_URL=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench"
        ),
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        VAR_DIR=str(ROOT / "var" / "bench"),
    )
    sys.path.insert(0, str(ROOT))
    from bench.support import migrated_and_empty, reset_data

    migrated_and_empty(os.environ["DATABASE_URL"])
    from celery import current_app

    current_app.control.purge()
    readers = int(os.environ.get("BENCH_ESP_READERS", "100000"))
    with tempfile.TemporaryDirectory() as work_dir:
        print(summary(measure(readers, Path(work_dir))), flush=True)
    reset_data()


if __name__ == "__main__":
    main()
