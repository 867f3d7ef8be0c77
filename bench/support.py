"""What the benchmarks and the soak run share: a PostgreSQL database of their own, Django
set up on it, Postfix's ``smtp-sink`` and the raw limit measured against it, a real worker
sending a planned dispatch, and the worker's memory."""

import multiprocessing
import os
import resource
import shutil
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

CORES = os.cpu_count() or 1
LIMIT_MESSAGES = 20_000


ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str, fresh: bool = False) -> None:
    """Create the database ``url`` names when it does not exist yet (``fresh``: drop it
    first, for a benchmark that loads its own rows)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_data() -> None:
    """Empty the tables a benchmark fills (never point a benchmark at a real database).

    CASCADE empties what refers to these too: deliveries, dispatches, welcome sequences,
    subscriptions, clicks.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE issues_delivery, issues_dispatch, issues_snapshot, issues_issue, "
            "issues_newsletter, subscribers_subscription, subscribers_subscriber, "
            "subscribers_tag, subscribers_segment CASCADE"
        )


def empty_subscribers() -> None:
    """Every subscriber and what hangs on them, one DELETE per table: the ORM's cascade of
    100,000 subscribers, collected in Python, took minutes on SQLite, longer than the
    import it follows."""
    from django.db import connection

    from subscribers.models import (
        ConsentEvent,
        ImportRejection,
        ImportRow,
        Subscriber,
        Subscription,
        SuppressionEvent,
    )

    tables = [ConsentEvent, SuppressionEvent, Subscription, Subscriber.tags.through, Subscriber]
    with connection.cursor() as cursor:
        for model in [*tables, ImportRow, ImportRejection]:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def setup_django(folder: str, database_url: str | None = None) -> None:
    """Django in this process, migrated, on ``database_url`` or a SQLite file in ``folder``.

    Tasks and the cache stay in this process (no broker, no Redis): these benchmarks time
    the code, not the services.
    """
    os.environ["VAR_DIR"] = str(folder)
    os.environ["MEDIA_ROOT"] = str(Path(folder) / "media")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    migrate()


def migrate() -> None:
    """``django.setup()`` and the migrations, on the database the environment names."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def migrated_and_empty(database_url: str) -> None:
    """The benchmark's own PostgreSQL database, created if missing, migrated and emptied."""
    ensure_database(database_url)
    migrate()
    reset_data()


def start_sink():
    """Postfix's ``smtp-sink`` on a free loopback port: ``(process, port)``."""
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


def sample_message(issue) -> bytes:
    """The bytes one reader gets of ``issue``, as the worker builds them."""
    from issues.delivery import IssueMessage, Recipient
    from issues.models import Dispatch

    message = IssueMessage(Dispatch(issue=issue, snapshot=issue.snapshot, pk=0))
    recipient = Recipient(1, 1, "reader@example.com", "Reader")
    return message.as_bytes(message.values(recipient, message.message_id(recipient, "0" * 32)))


def push(port, message, count, envelope_from, to):
    connection = smtplib.SMTP("127.0.0.1", port)
    for _ in range(count):
        connection.sendmail(envelope_from, [to], message)
    connection.quit()


def measure_limit(port, message, messages=LIMIT_MESSAGES):
    """The same message over one persistent connection per core: what the sink and
    smtplib allow with nothing of ours in the way."""
    per_core = messages // CORES
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


def cpu_seconds(pids) -> float:
    """User and system CPU seconds the processes ``pids`` have used so far (those that have
    ended count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime (stat's 14th and 15th)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds the PostgreSQL server on this machine has used so far: its processes
    alive now, and those that ended (a worker's connection closes with each task), which
    the server's first process has reaped into its children's time; 0 without a local
    server or on SQLite. Less this process's own backend, which only watches."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        if name == "postgres":
            processes[int(stat.parent.name)] = [int(field) for field in fields[1:15]]
    ticks = 0
    for fields in processes.values():
        ticks += fields[10] + fields[11]  # utime, stime
        if fields[0] not in processes:  # the postmaster: its parent is not a server process
            ticks += fields[12] + fields[13]  # cutime, cstime
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = cpu_seconds([cursor.fetchone()[0]])
    return ticks / os.sysconf("SC_CLK_TCK") - own


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def database_backends() -> list[int]:
    """The PostgreSQL server processes serving other connections to this database (a
    worker's), whose CPU a send costs too; none on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def sending_env(port: int, concurrency: int = CORES) -> dict:
    """A worker's settings to send into the sink on ``port`` as fast as it takes them."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "SEND_PARALLEL_TASKS": concurrency * 2,
        "SEND_BATCH_SIZE": 200,
    }


def send_planned(
    dispatch, *, concurrency: int = CORES, watch: Callable[[], None] | None = None
) -> float:
    """Hand the planned ``dispatch`` to the running worker(s) with ``concurrency`` pool
    processes in all, and wait until it is done: the seconds it took. ``watch`` is called
    between looks at the dispatch."""
    from issues import tasks
    from issues.models import Dispatch

    started = time.perf_counter()
    for _ in range(concurrency * 2):
        tasks.send_dispatch.delay(dispatch.pk)
    while True:
        dispatch.refresh_from_db()
        if dispatch.status == Dispatch.Status.DONE:
            return time.perf_counter() - started
        if watch:
            watch()
        time.sleep(0.2)


def postgres_url(name: str) -> str | None:
    """The PostgreSQL database a benchmark measures on, ready: ``BENCH_<NAME>_DATABASE_URL``,
    else a fresh ``superfast_bench_<name>`` on the local server; None when there is none."""
    url = os.environ.get(f"BENCH_{name.upper()}_DATABASE_URL")
    local = f"postgres://postgres@127.0.0.1:5432/superfast_bench_{name}"
    try:
        ensure_database(url or local, fresh=not url)
    except Exception as error:  # no server, no rights: the SQLite line still stands
        print(f"# {name} on PostgreSQL left out: {error}".splitlines()[0], flush=True)
        return None
    return url or local


def on_each_database(
    name: str, measure: Callable[[str | None], int], argv: list[str] | None = None
) -> int:
    """A benchmark with one line per database. Given one (a URL, or "sqlite") it is measured
    there, in this process; else ``bench.bench_<name>`` runs once per database in a process
    of its own (Django's settings are per process): SQLite, then PostgreSQL when there is one."""
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        return measure(None if argv[0] == "sqlite" else argv[0])
    failed = 0
    for target in ["sqlite", postgres_url(name)]:
        if target:
            command = [sys.executable, "-m", f"bench.bench_{name}", target]
            failed |= subprocess.run(command).returncode
    return 1 if failed else 0
