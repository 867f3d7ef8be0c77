"""`make demo` brings up the web server, a worker and beat on embedded defaults, and stops them.

In between, an editor sends the demo's draft to the demo audience and finds the mail in the
demo's mailbox folder.
"""

import email
import email.policy
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.error import URLError

from issues.management.commands.load_demo import DEMO_READERS
from tests.support.admin import log_into_admin
from tests.support.processes import ROOT, child_env, free_port
from tests.support.waiting import wait_until


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (URLError, ConnectionError):
        return None, ""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited but not been reaped; it counts as stopped.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(")")[-1].split()[0] != "Z"


def mailbox(var_dir):
    """The demo's messages, parsed, oldest first."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted((var_dir / "mail").glob("*.eml"))
    ]


def test_demo_serves_admin_and_health_runs_a_worker_and_stops_everything(tmp_path, page):
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
        wait_until(lambda: get(f"{base}/healthz")[0] == 200, 90, "healthz answered 200", 0.5)
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

        wait_until(worker_ran_a_task, 60, "the demo's worker ran its first task", 0.5)
        pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", output)]
        assert len(pids) == 3, output

        # An editor presses Send now on the draft; the demo audience's mail lands in var/mail.
        password = re.search(r"login: admin / (\S+)", output).group(1)
        log_into_admin(page, base, "admin", password)
        page.goto(f"{base}/admin/issues/issue/?q=draft")
        page.click("text=Next week (draft)")
        page.click("text=Send now")
        page.click("input[type=submit].default")
        page.wait_for_selector("text=Done", timeout=60_000)
        messages = wait_until(lambda: len(mailbox(tmp_path)) >= 5 and mailbox(tmp_path), 30, "mail")
        assert sorted(m["To"] for m in messages) == sorted(address for address, _ in DEMO_READERS)
        text = messages[0].get_body(("plain",)).get_content()
        assert f"{base}/unsubscribe/" in text  # links reach this demo, on its own port
        assert messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    wait_until(lambda: not any(alive(pid) for pid in pids), 20, "every child stopped", 0.5)
    assert get(f"{base}/healthz")[0] is None


def test_load_demo_twice_gives_one_confirmed_demo_audience(db):
    from django.core.management import call_command

    from issues.models import Newsletter
    from subscribers.services import recipients

    call_command("load_demo")
    call_command("load_demo")
    newsletter = Newsletter.objects.get(slug="weekly-gradient")
    assert sorted(recipients(newsletter.pk).values_list("email", flat=True)) == sorted(
        email for email, _ in DEMO_READERS
    )
    assert all(address.endswith(("@example.org", "@example.com")) for address, _ in DEMO_READERS)
