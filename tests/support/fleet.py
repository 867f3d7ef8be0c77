"""Several worker machines on one: production workers that share only the services.

Each worker is a separate ``celery worker`` process with its own working directory, its own
node name and its own ``VAR_DIR``, which it must never create: it runs with ``DEBUG`` off,
so the production checks refuse to start it if anything would need a local file. Beat runs
once, as its own process, as in docker-compose.yml. Used by tests/delivery/test_several_workers.py
and by ``make soak`` (bench/soak.py), which kill workers with ``kill -9`` during a send and
then count, from the SMTP sink's own records, who got what and how fast.
"""

import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller

from .delivery import children_of, kill_hard
from .processes import celery_beat, celery_worker, free_port

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "fleet-" + "a-shared-production-secret-of-every-worker-0123456789",
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "DEFAULT_FROM_EMAIL": "The Weekly <weekly@news.example.org>",
    "POSTAL_ADDRESS": "The Weekly, 1 Example Street, 10115 Berlin, Germany",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "127.0.0.1",
}


class ArrivalLog:
    """An SMTP sink that keeps only who got a message and when (20,000 bodies weigh 200 MB)."""

    def __init__(self):
        self.arrivals: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self.lock:
            self.arrivals.extend((rcpt, now) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def snapshot(self) -> list[tuple[str, float]]:
        with self.lock:
            return list(self.arrivals)


class Fleet:
    """Named production workers under ``base``: ``base/<name>`` is each one's machine."""

    def __init__(self, base: Path, names: list[str], env: dict, concurrency: int = 1):
        self.base, self.names, self.concurrency = Path(base), names, concurrency
        self.env = {
            **PRODUCTION,
            "MEDIA_ROOT": str(self.base / "shared-media"),
            "PRIVATE_ROOT": str(self.base / "shared-private"),
            **env,
        }
        self.stack = ExitStack()
        self.running = {}
        self.started = Counter()

    def home(self, name: str) -> Path:
        home = self.base / name
        home.mkdir(parents=True, exist_ok=True)
        return home

    def env_of(self, name: str) -> dict:
        return {**self.env, "VAR_DIR": str(self.home(name) / "var")}

    def start(self, *names: str) -> None:
        """Start the named workers side by side; return when every one is ready."""
        procs = [
            self.stack.enter_context(
                celery_worker(
                    self.home(name),
                    concurrency=self.concurrency,
                    env=self.env_of(name),
                    cwd=self.home(name),
                    hostname=f"{name}@%h",
                    wait=False,
                )
            )
            for name in names
        ]
        for name, proc in zip(names, procs, strict=True):
            proc.wait_ready()
            proc.pids = [proc.pid, *children_of(proc.pid)]  # looked up now: the kill is instant
            self.running[name] = proc
            self.started[name] += 1

    def start_beat(self):
        home = self.home("beat")
        return self.stack.enter_context(
            celery_beat(home, env=self.env_of("beat"), cwd=home, wait=False)
        )

    def kill(self, name: str) -> None:
        """``kill -9`` the worker and its pool at once: no cleanup, no acknowledgement."""
        proc = self.running.pop(name)
        kill_hard(proc, proc.pids)

    def logs(self, name: str) -> str:
        return "".join(path.read_text() for path in self.base.glob(f"{name}/worker-*.log"))

    def local_state(self) -> list[Path]:
        """Whatever any worker or beat wrote under its VAR_DIR: must stay empty."""
        return [path for path in self.base.glob("*/var") if path.exists()]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stack.close()


@dataclass
class Outcome:
    recipients: int
    missing: int
    duplicates: int
    measured_rate: float

    def line(self, **extra) -> str:
        fields = {"missing": self.missing, "duplicates": self.duplicates, **extra}
        fields["measured_rate"] = f"{self.measured_rate:.1f}"
        return " ".join(f"{key}={value}" for key, value in fields.items())


def busiest_rate(times: list[float], window: float) -> float:
    """Messages per second in the busiest ``window`` seconds: what a rate limit must bound."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most / window


def outcome(arrivals: list[tuple[str, float]], expected: set[str], window: float) -> Outcome:
    received = Counter(rcpt for rcpt, _ in arrivals)
    return Outcome(
        recipients=len(expected),
        missing=len(expected - set(received)),
        duplicates=sum(received.values()) - len(received),
        measured_rate=busiest_rate([at for _, at in arrivals], window),
    )


def kill_and_restart_during_send(fleet: Fleet, sink: ArrivalLog, total: int, kills: list) -> None:
    """Kill each ``(name, fraction)`` once the sink has that share of ``total`` messages and
    batches are claimed (with more sender tasks than pool processes, every worker is in the
    middle of one), then start it again under the same name, in the same directory."""
    from issues.models import Delivery

    for name, fraction in kills:
        deadline = time.monotonic() + 300
        while sink.count() < total * fraction or not sending(Delivery):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the send never reached {fraction:.0%} with a batch claimed")
            time.sleep(0.005)
        fleet.kill(name)
        fleet.start(name)


def sending(delivery_model) -> bool:
    return delivery_model.objects.filter(status=delivery_model.Status.SENDING).exists()
