"""`make demo` brings up the web server, a worker and beat on embedded defaults, and stops them."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError

from tests.support.processes import ROOT, child_env, free_port


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (URLError, ConnectionError):
        return None, ""


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout}s")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited but not been reaped; it counts as stopped.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(")")[-1].split()[0] != "Z"


def test_demo_serves_admin_and_health_runs_a_worker_and_stops_everything(tmp_path):
    port = free_port()
    # The embedded defaults, whatever the surrounding environment (CI sets PostgreSQL/Redis).
    embedded = dict.fromkeys(["DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "EMAIL_BACKEND"])
    env = child_env(VAR_DIR=tmp_path, **embedded)
    log_path = tmp_path / "demo.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "superfast.demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{base}/healthz")[0] == 200, 90, "healthz answered 200")
        status, body = get(f"{base}/admin/login/")
        assert status == 200 and "Superfast" in body

        output = log_path.read_text()
        assert re.search(r"login: admin / \S+", output)
        assert f"{base}/admin/" in output and "demo mailbox" in output
        assert (tmp_path / "superfast.sqlite3").exists()

        def worker_ran_a_task():
            with sqlite3.connect(tmp_path / "superfast.sqlite3") as db:
                rows = db.execute("SELECT name FROM superfast_workerheartbeat").fetchall()
            return ("demo",) in rows

        wait_until(worker_ran_a_task, 60, "the demo's worker ran its first task")
        pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", output)]
        assert len(pids) == 3, output
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    wait_until(lambda: not any(alive(pid) for pid in pids), 20, "every child stopped")
    assert get(f"{base}/healthz")[0] is None
