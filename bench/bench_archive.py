"""Archive speed: an issue page against a static file, from the same gunicorn, same run.

Builds a throwaway site (SQLite under a temporary VAR_DIR, DEBUG off, static files
collected), starts gunicorn with 2 workers on loopback, warms the page cache, then loads
a fixed small static file and an issue page in turn with wrk (32 connections) from a
second process, three rounds each, alternating; medians count. Prints:

    BENCH archive url=... rps=... p99_ms=... static_rps=... ratio=... ok=yes|no

``ratio`` is the issue page's rate over the static file's; the targets are ratio >= 0.5
and p99 under 50 ms. ``BENCH_SECONDS`` sets each run's length (default 4). With DATABASE_URL
pointing at PostgreSQL the site gets a temporary database of its own there (dropped
afterwards), and with REDIS_URL its page cache is Redis, as in production.
"""

import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
STATIC_PATH = "/static/superfast/site.css"
ISSUE_COUNT = 30
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def bench_database(var_dir: Path):
    """A database of its own: a fresh one beside DATABASE_URL's on PostgreSQL, else SQLite.

    PostgreSQL is what production runs (persistent connections); the embedded SQLite
    default opens a connection per request, which is most of a cached page's cost there.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{var_dir / 'bench.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"superfast_bench_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def site_env(var_dir: Path, port: int, database_url: str) -> dict:
    """Production settings (DEBUG off), with nothing kept in files of this one machine: the
    site refuses to start otherwise (``superfast.checks``)."""
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="superfast.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        # Production wants https in every link of mail; the bench serves plain http on
        # loopback (no redirect) and mails nobody.
        SITE_URL=f"https://127.0.0.1:{port}",
        SECURE_SSL_REDIRECT="0",
        DEFAULT_FROM_EMAIL="Bench <bench@example.org>",
        POSTAL_ADDRESS="1 Example Street, Berlin",
        VAR_DIR=str(var_dir / "var"),
        DATABASE_URL=database_url,
        STATIC_ROOT=str(var_dir / "static"),
        MEDIA_ROOT=str(var_dir / "media"),  # as a volume every process mounts
        # Uploaded lists: a volume of their own too (under VAR_DIR the site refuses to start).
        PRIVATE_ROOT=str(var_dir / "private"),
        LOG_LEVEL="WARNING",
        # A per-process cache is refused too: the local Redis unless REDIS_URL names
        # another, under a prefix of this run's own.
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=f"bench-archive-{os.getpid()}",
        # Pages never queue a task or send mail; both still name real services.
        CELERY_BROKER_URL=redis_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    return env


def seed():
    """Run inside the site's environment: migrate, collect static files, add sent issues."""
    import django

    django.setup()
    from django.core.management import call_command

    from tests.support.factories import make_issue, make_newsletter

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    newsletter = make_newsletter()
    issues = [
        make_issue(newsletter, f"Harbour log {n}", days_ago=ISSUE_COUNT - n)
        for n in range(ISSUE_COUNT)
    ]
    print(issues[ISSUE_COUNT // 2].get_absolute_url())


def wait_until_serving(url: str, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, float, int]:
    """Requests per second, 99th percentile latency (ms) and requests made, of ``url``
    under load (``script``: a wrk Lua script choosing each request)."""
    wrk_path = shutil.which("wrk")
    if not wrk_path:
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk")
    command = [wrk_path, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    command += ["-s", script] if script else []
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", output).groups()
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], requests


def main():
    seconds = int(os.environ.get("BENCH_SECONDS", "4"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="superfast-bench-") as tmp,
        bench_database(Path(tmp)) as database_url,
    ):
        var_dir = Path(tmp)
        env = site_env(var_dir, port, database_url)
        issue_path = (
            subprocess.run(
                [sys.executable, "-m", "bench.bench_archive", "--seed"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "superfast.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_serving(base + issue_path, server)
            for _ in range(20):  # every worker caches the page before the clock starts
                urllib.request.urlopen(base + issue_path, timeout=5).read()
            # Alternate short runs and take medians: the machine's other load then
            # weighs on both sides alike instead of on whichever ran during a burst.
            static_runs, issue_runs = [], []
            for _ in range(ROUNDS):
                static_runs.append(wrk(base + STATIC_PATH, seconds))
                issue_runs.append(wrk(base + issue_path, seconds))
            static_rps = statistics.median(rps for rps, _, _ in static_runs)
            rps = statistics.median(rps for rps, _, _ in issue_runs)
            p99_ms = statistics.median(p99 for _, p99, _ in issue_runs)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ratio = rps / static_rps if static_rps else 0.0
    ok = ratio >= TARGET_RATIO and p99_ms < TARGET_P99_MS
    database = database_url.split(":", 1)[0]
    print(
        f"BENCH archive url={issue_path} rps={rps:.0f} p99_ms={p99_ms:.1f} "
        f"static_rps={static_rps:.0f} ratio={ratio:.2f} connections={CONNECTIONS} "
        f"database={database} cache={'redis' if os.environ.get('REDIS_URL') else 'locmem'} "
        f"target_ratio={TARGET_RATIO} target_p99_ms={TARGET_P99_MS:.0f} ok={'yes' if ok else 'no'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    if "--seed" in sys.argv:
        seed()
    else:
        sys.exit(main())
