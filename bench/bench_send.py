"""``make bench``: send a demo-sized issue to 10,000 and 100,000 subscribers.

PostgreSQL, Redis, a real Celery worker (one pool process per core) and Postfix's
``smtp-sink`` on loopback. The limit is measured in the same run against the same sink: the
same pre-built message over one persistent smtplib connection per core, no database, no
Celery. Prints one line per size:

    BENCH send n=... seconds=... msgs_per_s=... plan_seconds=... worker_peak_rss_mb=...
          limit_msgs_per_s=... ratio=... worker_cpu_ms=... cpu_ms=... limit_cpu_ms=...
          cpu_ratio=... message_bytes=...

and then the same send with every message DKIM-signed (RSA 2048, ``superfast.dkim``), against
the same unsigned limit (target ratio >= 0.5):

    BENCH send_signed n=... (the same keys) dkim=rsa2048

The CPU figures are per message: ``worker_cpu_ms`` of the worker's processes,
``cpu_ms`` of the worker, the sink and the database's server processes together, and
``limit_cpu_ms`` of the limit's senders and the sink. ``cpu_ratio`` (limit_cpu_ms / cpu_ms)
is what the ratio would be where CPU alone decides both rates: on a machine shared with
other work, which slows the two runs unequally, it is the steadier figure.

Settings: ``BENCH_DATABASE_URL`` (default a ``superfast_bench`` database on the local
PostgreSQL, created when missing), ``BENCH_BROKER_URL`` / ``BENCH_REDIS_URL`` (default local
Redis dbs 14 and 15), ``BENCH_SIZES`` (default ``10000,100000``), ``BENCH_SIGNED_SIZES``
(default ``10000``), ``BENCH_DKIM`` (the keys of the signed sends, default ``rsa2048``;
``rsa2048,rsa2048+ed25519`` adds a send with the second, Ed25519 signature), ``SMTP_SINK``
(the binary; ``make bench`` unpacks it), ``BENCH_PROFILE=1`` to also profile the send loop,
unsigned and signed (cProfile, top items to var/bench/profile-send.txt and
profile-send_signed.txt).
"""

import os
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
SIGNED_SIZES = [int(n) for n in os.environ.get("BENCH_SIGNED_SIZES", "10000").split(",")]
SIGNED_KEYS = os.environ.get("BENCH_DKIM", "rsa2048").split(",")

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=BROKER_URL,
    REDIS_URL=REDIS_URL,
    DJANGO_SETTINGS_MODULE="superfast.settings",
    VAR_DIR=str(ROOT / "var" / "bench"),
)
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    CORES,
    LIMIT_MESSAGES,
    children_cpu_seconds,
    cpu_seconds,
    database_backends,
    ensure_database,
    measure_limit,
    peak_rss_mb,
    reset_data,
    sample_message,
    send_planned,
    sending_env,
    start_sink,
)


def dkim_env(folder, ed25519=False):
    """Settings that sign every message with a new RSA 2048 key written under ``folder``
    (and, with ``ed25519``, a second signature with a new Ed25519 key)."""
    from tests.support.dkim import ed25519_key_file, rsa_key_file

    folder.mkdir(parents=True, exist_ok=True)
    env = {
        "DKIM_DOMAIN": "example.org",
        "DKIM_SELECTOR": "bench",
        "DKIM_PRIVATE_KEY_FILE": str(rsa_key_file(folder)[0]),
    }
    if ed25519:
        env["DKIM_ED25519_SELECTOR"] = "bench-ed"
        env["DKIM_ED25519_PRIVATE_KEY_FILE"] = str(ed25519_key_file(folder)[0])
    return env


def run(size, port, sink_pid, log_dir, extra_env=None):
    """Send to ``size`` readers: (seconds, planning seconds, worker peak RSS, CPU seconds per
    message of the worker and of worker, sink and database together)."""
    from celery import current_app

    from issues import delivery
    from issues.models import Dispatch
    from tests.support.delivery import children_of, make_subscribers
    from tests.support.factories import make_issue
    from tests.support.processes import celery_worker

    reset_data()
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, size)
    current_app.control.purge()
    env = {**sending_env(port), **(extra_env or {})}
    with celery_worker(log_dir, concurrency=CORES, env=env) as worker:
        dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
        started = time.perf_counter()
        delivery.plan_dispatch(dispatch)
        plan_seconds = time.perf_counter() - started
        workers = [worker.pid, *children_of(worker.pid)]
        cpu = cpu_seconds(workers), cpu_seconds([sink_pid])
        seconds = send_planned(dispatch)
        worker_cpu = cpu_seconds(workers) - cpu[0]
        all_cpu = worker_cpu + cpu_seconds([sink_pid]) - cpu[1]
        all_cpu += cpu_seconds(database_backends())  # connected for this send
        rss = peak_rss_mb(worker.pid)
    sent = dispatch.deliveries.filter(status="sent").count()
    if sent != size:
        sys.exit(f"only {sent} of {size} sent")
    return seconds, plan_seconds, rss, worker_cpu / size, all_cpu / size


def profile(port, name, extra_env=None, size=5000):
    """The worker's send loop in this process under cProfile: where a message's time goes,
    written to var/bench/profile-<name>.txt."""
    import cProfile
    import pstats

    from django.test import override_settings

    from issues import delivery
    from issues.models import Dispatch
    from tests.support.delivery import make_subscribers
    from tests.support.factories import make_issue

    reset_data()
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, size)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    mail = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    sending = dict(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, SEND_BATCH_SIZE=200, **mail)
    with override_settings(**sending, **(extra_env or {})):
        profiler = cProfile.Profile()
        profiler.runcall(delivery.run_sender, dispatch.pk, 600)
    out = ROOT / "var" / "bench" / f"profile-{name}.txt"
    with open(out, "w") as handle:
        pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(25)
    print(f"# profile of {size} sends in one process: {out}")


def main():
    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    sink, port = start_sink()
    try:
        reset_data()
        from tests.support.factories import make_issue

        sample = sample_message(make_issue(frozen=True))
        cpu = children_cpu_seconds() + cpu_seconds([sink.pid])
        limit = measure_limit(port, sample)
        limit_cpu = (children_cpu_seconds() + cpu_seconds([sink.pid]) - cpu) / LIMIT_MESSAGES
        with tempfile.TemporaryDirectory() as log_dir:
            runs = [("send", size, "", {}) for size in SIZES]
            for keys in SIGNED_KEYS:
                env = dkim_env(Path(log_dir) / keys, ed25519="ed25519" in keys)
                runs += [("send_signed", size, f" dkim={keys}", env) for size in SIGNED_SIZES]
            for name, size, keys, env in runs:
                seconds, plan_seconds, rss, worker_cpu, all_cpu = run(
                    size, port, sink.pid, log_dir, env
                )
                rate = size / seconds
                print(
                    f"BENCH {name} n={size} seconds={seconds:.2f} msgs_per_s={rate:.0f} "
                    f"plan_seconds={plan_seconds:.2f} worker_peak_rss_mb={rss:.0f} "
                    f"limit_msgs_per_s={limit:.0f} ratio={rate / limit:.2f} "
                    f"worker_cpu_ms={worker_cpu * 1000:.2f} cpu_ms={all_cpu * 1000:.2f} "
                    f"limit_cpu_ms={limit_cpu * 1000:.2f} cpu_ratio={limit_cpu / all_cpu:.2f} "
                    f"message_bytes={len(sample)}{keys}",
                    flush=True,
                )
        if os.environ.get("BENCH_PROFILE"):
            with tempfile.TemporaryDirectory() as folder:
                profile(port, "send")
                profile(port, "send_signed", dkim_env(Path(folder)))
        reset_data()
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
