"""Start the project's own processes (Celery worker, web server) for tests, and stop them."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from .preloaded import preloaded_python
from .waiting import wait_until

ROOT = Path(settings.BASE_DIR)

# Fast retries and short leases, so the tests see backoff and recovery in seconds.
WORKER_SETTINGS = {
    "SEND_RETRY_BASE_SECONDS": "0.5",
    "SEND_BATCH_SIZE": "50",
    "SEND_PARALLEL_TASKS": "2",
    "SEND_LEASE_SECONDS": "4",
    "SEND_SWEEP_INTERVAL_SECONDS": "1",
}

# Beat plans due welcome steps every two seconds and decides subject tests every second, so
# delays of seconds are honoured.
BEAT_SETTINGS = {
    **WORKER_SETTINGS,
    "WELCOME_PLAN_INTERVAL_SECONDS": "2",
    "WELCOME_PLAN_OVERLAP_SECONDS": "2",
}

# Whether the test running now is marked ``worker`` (set by tests/conftest.py before each
# test; None outside pytest, as in the benchmarks). Starting a Celery worker unmarked fails,
# so ``make check``, which leaves worker tests out, can never be slowed by one.
workers_allowed: bool | None = None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict=None):
    """The URL of the database the tests use now (the test database, once created)."""
    db = settings_dict or connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**overrides):
    """The environment of a child process: this one's, pointed at the test database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="superfast.settings",
        DATABASE_URL=database_url(),
        VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items() if value is not None})
    for key in [key for key, value in overrides.items() if value is None]:
        env.pop(key, None)
    return env


def wait_for_line(log_path, needle, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
        if needle in text:
            return text
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before ready:\n{text}")
        time.sleep(0.1)
    raise TimeoutError(f"no {needle!r} within {timeout}s:\n{Path(log_path).read_text()}")


def logged(proc, pattern: str) -> int:
    """How many times the process's log matches ``pattern`` so far: a test waits for what a
    worker says it did instead of sleeping for as long as that usually takes."""
    return len(re.findall(pattern, Path(proc.log_path).read_text(errors="replace")))


def task_runs(proc, task: str) -> int:
    """How many runs of ``task`` the worker's log says succeeded so far (Celery logs each at
    INFO): a test waits for beat's next runs instead of sleeping through a few periods."""
    return logged(proc, rf"Task {re.escape(task)}\[[^\]]+\] succeeded")


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def celery_worker(
    log_dir, concurrency=1, env=None, extra_args=(), cwd=ROOT, hostname=None, wait=True
):
    """A real ``celery -A superfast worker`` process, ready to take tasks when this yields
    (unless not ``wait``: then call ``proc.wait_ready()``, to start several at once).

    ``cwd`` and ``hostname`` (the node name) stand for another machine's worker."""
    arguments = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        f"--hostname={hostname or f'test-{uuid.uuid4().hex[:8]}@%h'}",
        "--without-gossip",
        "--without-mingle",
        *extra_args,
    ]
    with celery_process(arguments, log_dir, env, cwd, ready=" ready.", wait=wait) as proc:
        yield proc


@contextmanager
def celery_beat(log_dir, env=None, cwd=ROOT, wait=True):
    """A real ``celery -A superfast beat`` process, its schedule file in ``cwd``."""
    arguments = ["beat", "--loglevel=INFO", f"--schedule={Path(cwd) / 'celerybeat-schedule'}"]
    with celery_process(arguments, log_dir, env, cwd, ready="beat: Starting", wait=wait) as proc:
        yield proc


@contextmanager
def celery_process(arguments, log_dir, env, cwd, ready, wait=True):
    if arguments[0] == "worker" and workers_allowed is False:
        raise RuntimeError("this test starts a Celery worker: mark it @pytest.mark.worker")
    log_path = Path(log_dir) / f"{arguments[0]}-{uuid.uuid4().hex[:8]}.log"
    # Forked from an interpreter that has imported the libraries (tests.support.preloaded):
    # the suite starts a couple of hundred workers, and each would import them anew. Its own
    # session, so that nothing it forks (pool, embedded beat) outlives it.
    proc = preloaded_python().start(
        ["-m", "celery", "-A", "superfast", *arguments],
        env=child_env(**{"PYTHONPATH": str(ROOT), **(env or {})}),
        cwd=cwd,
        stdout=log_path,
        new_session=True,
    )
    proc.log_path = log_path
    proc.wait_ready = lambda: wait_for_line(log_path, ready, proc, timeout=60)
    try:
        if wait:
            proc.wait_ready()
        yield proc
    finally:
        # The test is over: a warm shutdown would cost seconds per test to finish work
        # nobody checks any more. The whole group (pool, embedded beat) goes at once; what it
        # held unacknowledged stays out of the queues for the broker's visibility timeout.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def mailing_worker(log_dir, sink, **env):
    """A worker that sends to the SMTP ``sink``, on a broker emptied of earlier tests' tasks."""
    from superfast.celery import app

    app.control.purge()
    with celery_worker(log_dir, env={**sink.env(), **env}) as proc:
        yield proc


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, which it may stop and start."""

    def __init__(self, directory):
        self.port = free_port()
        self.address = f"redis://127.0.0.1:{self.port}"
        self.url = self.address + "/0"
        self.command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]

    def start(self):
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_until(self.answers, timeout=10, what="redis-server answering")
        return self

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def answers(self):
        try:
            return self.client().ping()
        except Exception:
            return False

    def stop(self):
        stop_process(self.proc)


@contextmanager
def web_server(log_dir, env=None):
    """``manage.py runserver`` as ``make demo`` runs it (DEBUG on, so it serves ``/media/``),
    on a free loopback port and the test database; yields its base URL."""
    port = free_port()
    log_path = Path(log_dir) / f"runserver-{port}.log"
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env(DEBUG="1", **(env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_line(log_path, "Quit the server", proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
