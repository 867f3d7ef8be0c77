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

import pytest

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


def start_demo(var_dir):
    """``python -m superfast.demo`` on a free port and the embedded defaults, whatever the
    surrounding environment (CI sets PostgreSQL and Redis): (process, base URL, env, log)."""
    port = free_port()
    embedded = dict.fromkeys(["DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "EMAIL_BACKEND"])
    env = child_env(VAR_DIR=var_dir, **embedded)
    log_path = var_dir / "demo.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "superfast.demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return demo, f"http://127.0.0.1:{port}", env, log_path


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_demo_serves_admin_and_health_survives_a_killed_worker_and_stops_everything(tmp_path, page):
    """The embedded defaults as ``make demo`` runs them (SQLite, the SQLite broker, the
    supervisor), in one start of the demo, as a newcomer meets it: the admin and health
    answer, the worker runs; SIGKILL the worker and the web server stays up while the
    supervisor starts a new one; an editor's Send now reaches the demo audience; Ctrl-C
    stops every process, the restarted worker included."""
    demo, base, _, log_path = start_demo(tmp_path)

    def started_pids():
        return [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", log_path.read_text())]

    def worker_pids():
        return [
            int(pid) for pid in re.findall(r"started worker \(pid (\d+)\)", log_path.read_text())
        ]

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

        # The sent demo issue was rendered by the demo process itself: its images and links
        # must reach this server on its own port, not the default one.
        status, home = get(f"{base}/")
        issue_path = re.search(r'href="(/weekly-gradient/[^"/]+/)"', home).group(1)
        status, issue_page = get(f"{base}{issue_path}")
        images = re.findall(r'<img [^>]*src="([^"]+)"', issue_page)
        assert status == 200 and images
        assert all(src.startswith((f"{base}/", "/")) for src in images), images
        assert ":8000" not in issue_page
        assert len(started_pids()) == 3, output

        first = worker_pids()[0]
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(worker_pids()) == 2, 30, "the supervisor started a new worker", 0.5)
        output = log_path.read_text()
        assert f"worker (pid {first}) exited" in output and "restarting in 1 s" in output
        assert get(f"{base}/healthz")[0] == 200  # the web server never went down

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
    pids = started_pids()
    wait_until(lambda: not any(alive(pid) for pid in pids), 20, "every child stopped", 0.5)
    assert get(f"{base}/healthz")[0] is None


def test_load_demo_renders_its_sent_issue_again_for_another_site_url(db, settings):
    from django.core.management import call_command

    from issues.models import Issue

    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("load_demo")
    settings.SITE_URL = "http://127.0.0.1:8080"
    call_command("load_demo")
    snapshot = Issue.objects.get(status=Issue.Status.SENT).snapshot
    assert "http://127.0.0.1:8080/media/" in snapshot.email_html
    assert ":8000" not in snapshot.email_html + snapshot.web_html + snapshot.text


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


def test_starting_the_demo_again_keeps_the_admin_logged_in(client, db, settings, tmp_path):
    """The admin's password is set only when it changed: setting it at every start changed
    the hash, and with it every session, so a restart of the demo logged everyone out."""
    from superfast.demo import ensure_admin

    settings.VAR_DIR = tmp_path
    password = ensure_admin()
    assert client.login(username="admin", password=password)
    assert client.get("/admin/").status_code == 200

    assert ensure_admin() == password  # the second start
    assert client.get("/admin/").status_code == 200

    (tmp_path / "admin-password.txt").write_text("a-new-one\n")  # changed by hand: applies
    assert ensure_admin() == "a-new-one"
    assert client.get("/admin/").status_code == 302
    assert client.login(username="admin", password="a-new-one")
