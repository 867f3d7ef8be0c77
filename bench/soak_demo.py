"""``make soak``, second part: ``make demo`` for an hour, its worker and beat killed, restarted.

The demo is started as ``make demo`` starts it (``python -m superfast.demo``, DEBUG on, SQLite,
the embedded broker, the supervisor), on its own ``VAR_DIR`` in a temporary folder and a free
loopback port. An admin logs in once, at the start. Then, for ``SOAK_SECONDS``, rounds of:

- a CSV of ``SOAK_IMPORT_ROWS`` new readers imported with ``manage.py import_subscribers`` (the
  first round imports ``SOAK_SUBSCRIBERS``, so every send goes to a few thousand);
- a new issue sent to everyone with ``manage.py send_issue --wait``, its mail counted in the
  demo's mailbox (and then removed, so an hour does not fill the disk);
- ``/healthz`` answering 200;
- every ``SOAK_KILL_EVERY_SECONDS``, ``kill -9`` of the worker or of beat, in turn: the
  supervisor must start a new one, a new beat must send its due tasks again, and the next
  send must reach everyone. Kills fall between sends: a worker killed in the middle of a
  batch sends that batch again (delivery is at-least-once, docs/delivery.md), which
  ``bench/soak.py`` measures against its bound; here every copy beyond one is a fault;
- now and then (``SOAK_RESTARTS`` times, evenly spread) the whole demo stopped with Ctrl-C
  and started again on the same ``VAR_DIR``: the admin's session must still be good.

At the end every reader of every issue must have got it exactly once. Prints ``SOAK demo
seconds=… rounds=… sends=… messages=… kills=… restarts=… duplicates=… missing=… ok=…`` and
exits non-zero unless ok. The demo's own log is printed when something went wrong.
"""

import email
import email.policy
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("SOAK_SECONDS", "3600"))
SUBSCRIBERS = int(os.environ.get("SOAK_SUBSCRIBERS", "2000"))
IMPORT_ROWS = int(os.environ.get("SOAK_IMPORT_ROWS", "100"))
KILL_EVERY = float(os.environ.get("SOAK_KILL_EVERY_SECONDS", "60"))
RESTARTS = int(os.environ.get("SOAK_RESTARTS", str(max(1, int(SECONDS // 900)))))
NEWSLETTER = "weekly-gradient"  # the demo's own (superfast/management: load_demo)
SUBJECT = "Soak issue {}"


# What a fresh shell does not set (CI and the test suite set the first four).
NOT_SET = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "EMAIL_BACKEND", "SITE_URL", "PORT"}


def demo_environment(var_dir: Path) -> dict[str, str]:
    """What ``make demo`` runs with in a fresh shell: DEBUG on, every default embedded."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_SET}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "DEBUG": "1", "VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise SoakFailed(f"not within {seconds:g} s: {what}")


class SoakFailed(Exception):
    pass


def progress(line: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


class Demo:
    """``python -m superfast.demo`` as a child, its output in ``VAR_DIR/demo.log``."""

    def __init__(self, var_dir: Path, port: int):
        self.var_dir, self.port = var_dir, port
        self.base = f"http://127.0.0.1:{port}"
        self.env = demo_environment(var_dir)
        self.log_path = var_dir / "demo.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        progress(f"starting the demo on {self.base}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "superfast.demo", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: self.status("/healthz") == 200, 180, "the demo's /healthz said 200")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise SoakFailed("the demo did not stop within 60 s of Ctrl-C") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self, child: str) -> list[int]:
        """Every pid the supervisor started ``child`` with, oldest first."""
        return [int(pid) for pid in re.findall(rf"started {child} \(pid (\d+)\)", self.log())]

    def status(self, path: str, opener: urllib.request.OpenerDirector | None = None) -> int | None:
        try:
            with (opener or urllib.request.build_opener()).open(self.base + path, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def manage(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise SoakFailed(f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout


class Admin:
    """A browser's cookies: logged in once, then only asked whether it still is."""

    def __init__(self, demo: Demo):
        self.demo = demo
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def log_in(self) -> None:
        with self.opener.open(f"{self.demo.base}/admin/login/", timeout=10) as response:
            form = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        password = (self.demo.var_dir / "admin-password.txt").read_text().strip()
        fields = {
            "csrfmiddlewaretoken": token,
            "username": "admin",
            "password": password,
            "next": "/admin/",
        }
        request = urllib.request.Request(
            f"{self.demo.base}/admin/login/",
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Referer": f"{self.demo.base}/admin/login/"},
        )
        self.opener.open(request, timeout=10).close()
        if not self.logged_in():
            raise SoakFailed("the admin could not log in")

    def logged_in(self) -> bool:
        """The admin index, not a redirect to the login form."""
        with self.opener.open(f"{self.demo.base}/admin/", timeout=10) as response:
            return urllib.parse.urlparse(response.url).path == "/admin/"


class Mailbox:
    """Counts the copies of each soak issue per reader in the demo's mailbox, then removes
    the counted files (an hour of sends is hundreds of thousands of them)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.copies: Counter[tuple[str, str]] = Counter()

    def collect(self) -> None:
        for path in sorted(self.folder.glob("*.eml")):
            with path.open("rb") as file:
                headers = email.message_from_binary_file(
                    file, policy=email.policy.default, _class=email.message.EmailMessage
                )
            subject = str(headers["Subject"] or "")
            if subject.startswith(SUBJECT.format("")):
                self.copies[(subject, parseaddr(str(headers["To"]))[1].lower())] += 1
            path.unlink()


class Soak:
    def __init__(self, demo: Demo):
        self.demo = demo
        self.admin = Admin(demo)
        self.mailbox = Mailbox(demo.var_dir / "mail")
        self.expected: dict[str, set[str]] = {}  # subject: everyone it was sent to
        self.rounds = self.kills = self.restarts = self.imported = 0
        self.last_kill = time.monotonic()
        self.next_victim = "worker"
        self.proven = True  # a send reached everyone since the last kill or restart

    def run(self) -> None:
        self.demo.start()
        self.setup_django()
        self.admin.log_in()
        started = time.monotonic()
        restart_at = [started + SECONDS * k / (RESTARTS + 1) for k in range(1, RESTARTS + 1)]
        while time.monotonic() - started < SECONDS or not self.rounds:
            self.round()
            if time.monotonic() - self.last_kill >= KILL_EVERY:
                self.kill_next()
            if restart_at and time.monotonic() >= restart_at[0]:
                restart_at.pop(0)
                self.restart()
        while self.kills < 2:  # a short soak still kills both at least once
            self.kill_next()
            self.round()
        for _ in restart_at:
            self.restart()
        if not self.proven:  # the last kill or restart is followed by a send too
            self.round()
        self.seconds = time.monotonic() - started

    def setup_django(self) -> None:
        """This process reads and writes the demo's database to make issues and to know who
        each send must reach; the commands and the demo's children do everything else."""
        for key in NOT_SET:
            os.environ.pop(key, None)
        os.environ.update(self.demo.env, DJANGO_SETTINGS_MODULE="superfast.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def round(self) -> None:
        from issues.models import Newsletter
        from subscribers.selectors import recipients
        from tests.support.factories import make_issue

        self.rounds += 1
        self.import_readers(SUBSCRIBERS if self.rounds == 1 else IMPORT_ROWS)
        newsletter = Newsletter.objects.get(slug=NEWSLETTER)
        subject = SUBJECT.format(self.rounds)
        issue = make_issue(newsletter, title=subject, subject=subject, frozen=True)
        self.expected[subject] = {
            address.lower() for address in recipients(newsletter.pk).values_list("email", flat=True)
        }
        progress(f"round {self.rounds}: sending {subject} to {len(self.expected[subject])}")
        self.demo.manage("send_issue", f"{NEWSLETTER}/{issue.slug}", "--wait")
        self.mailbox.collect()
        progress(f"round {self.rounds}: sent")
        self.proven = True
        if self.demo.status("/healthz") != 200:
            raise SoakFailed(f"/healthz did not answer 200 after round {self.rounds}")

    def import_readers(self, count: int) -> None:
        progress(f"importing {count} readers")
        path = self.demo.var_dir / "import.csv"
        first = self.imported
        lines = (f"reader{n}@soak.example,Reader {n}\n" for n in range(first, first + count))
        path.write_text("email,name\n" + "".join(lines))
        self.demo.manage("import_subscribers", str(path), "--newsletter", NEWSLETTER)
        self.imported += count

    def kill_next(self) -> None:
        """The worker and beat in turn."""
        self.kill(self.next_victim)
        self.next_victim = "beat" if self.next_victim == "worker" else "worker"

    def kill(self, child: str) -> None:
        """``kill -9`` the child; the supervisor must start another, and a new beat must send
        its due tasks again (a new worker proves itself with the next send)."""
        pids = self.demo.pids(child)
        progress(f"kill -9 {child} (pid {pids[-1]})")
        os.kill(pids[-1], signal.SIGKILL)
        self.kills += 1
        self.proven = False
        self.last_kill = time.monotonic()
        new_pids = wait_until(
            lambda: len(self.demo.pids(child)) > len(pids) and self.demo.pids(child),
            90,
            f"the supervisor started {child} again after kill -9 of pid {pids[-1]}",
        )
        if child == "beat":
            marker = f"started beat (pid {new_pids[-1]})"

            def sent_a_due_task() -> bool:
                log = self.demo.log()
                return "Sending due task" in log[log.index(marker) :]

            wait_until(sent_a_due_task, 90, "the new beat sent a due task")
        progress(f"{child} is back (pid {new_pids[-1]})")

    def restart(self) -> None:
        progress("stopping the demo")
        self.demo.stop()
        self.proven = False
        progress("starting the demo again")
        self.demo.start()
        progress("the demo is back")
        self.restarts += 1
        if not self.admin.logged_in():
            raise SoakFailed("restarting the demo logged the admin out")

    def outcome(self) -> tuple[int, int, int]:
        """(messages, duplicates, missing) over every soak issue."""
        self.mailbox.collect()
        received: dict[str, set[str]] = {}
        duplicates = 0
        for (subject, address), copies in self.mailbox.copies.items():
            received.setdefault(subject, set()).add(address)
            duplicates += copies - 1
        missing = sum(len(want - received.get(s, set())) for s, want in self.expected.items())
        strangers = sum(
            len(got - self.expected.get(s, set())) for s, got in received.items()
        )  # a copy to someone the issue was not for counts as a duplicate: it is one too many
        return sum(self.mailbox.copies.values()), duplicates + strangers, missing


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="soak-demo-") as folder:
        demo = Demo(Path(folder), free_port())
        soak = Soak(demo)
        failure = ""
        try:
            soak.run()
        except (SoakFailed, subprocess.TimeoutExpired) as error:
            failure = str(error)
            soak.seconds = 0.0
        finally:
            demo.stop()
        messages, duplicates, missing = soak.outcome()
        ok = not failure and duplicates == 0 and missing == 0
        if not ok:
            print(demo.log()[-20000:], file=sys.stderr)
            print(f"# soak failed: {failure or 'mail missing or duplicated'}", file=sys.stderr)
        print(
            f"SOAK demo seconds={soak.seconds:.0f} rounds={soak.rounds} "
            f"sends={len(soak.expected)} messages={messages} kills={soak.kills} "
            f"restarts={soak.restarts} duplicates={duplicates} missing={missing} "
            f"ok={'yes' if ok else 'no'}",
            flush=True,
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
