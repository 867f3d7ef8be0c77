"""Clicks during a send: readers clicking one issue while another goes to the whole list.

One PostgreSQL database, one Redis (broker and click buffer), a real Celery worker (one
pool process per core) sending into Postfix's ``smtp-sink``, and gunicorn (2 workers)
answering the clicks, all on this machine and all on production's settings (DEBUG off).
The send of ``BENCH_SIZE`` readers runs four times: alone, twice while clicks arrive at a
fixed ``BENCH_CLICK_RATE`` per second on another issue's tracked links (200 readers × 10
links) and this process flushes the click buffer into the same database, as beat would,
then alone again: this machine's speed drifts by a tenth and more from one minute to the
next, and in this order drift weighs on both sides alike. Clicks are sent open-loop (each
at its planned moment, whatever the answers before it), and a click's time counts from its
planned moment, so a stalled server shows as latency instead of fewer clicks. Prints:

    BENCH click_during_send n=... clicks_per_s=... clicks=... click_p99_ms=...
          send_seconds=... alone_seconds=... ratio=... stored=... ok=yes|no

``send_seconds`` and ``alone_seconds`` are the two sends' totals, with clicks and alone;
``ratio`` is the send's rate with clicks over its rate alone; targets: ``click_p99_ms``
under 50 and ``ratio`` at least 0.8; ``stored`` must equal ``clicks``. Redirect targets are
a closed loopback port: the redirect is answered, never followed.

Settings: ``BENCH_DATABASE_URL`` (default a ``superfast_bench_clicks`` database on the local
PostgreSQL, created when missing), ``BENCH_REDIS_URL`` (default local Redis db 12),
``BENCH_SIZE`` (default 100000), ``BENCH_CLICK_RATE`` (default 300), ``SMTP_SINK``.
"""

import contextlib
import multiprocessing
import os
import selectors
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench_clicks"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SIZE = int(os.environ.get("BENCH_SIZE", "100000"))
CLICK_RATE = float(os.environ.get("BENCH_CLICK_RATE", "300"))
CLICK_READERS, LINKS = 200, 10
TARGET_P99_MS, TARGET_RATIO = 50.0, 0.8

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=REDIS_URL,
    REDIS_URL=REDIS_URL,
    DJANGO_SETTINGS_MODULE="superfast.settings",
    VAR_DIR=str(ROOT / "var" / "bench"),
)
sys.path.insert(0, str(ROOT))

from bench.bench_archive import free_port, site_env, wait_until_serving  # noqa: E402
from bench.support import (  # noqa: E402
    CORES,
    ensure_database,
    reset_data,
    send_planned,
    sending_env,
    start_sink,
)


def clicked_issue_paths() -> list[str]:
    """An issue of its own, planned for 200 readers, and each reader's tracked link paths
    (not the canary): what the clicks go round."""
    from django.conf import settings

    from issues.compose.blocks import get_kind
    from issues.delivery import plan_dispatch
    from issues.delivery.message import IssueMessage
    from issues.delivery.outcomes import Recipient
    from issues.delivery.snapshot import freeze_snapshot
    from issues.models import Block, Dispatch
    from tests.support.delivery import make_subscribers
    from tests.support.factories import make_issue, make_newsletter

    issue = make_issue(make_newsletter("clicked", "Clicked Weekly"), "Ten links worth a click")
    items = "\n".join(f"Link {n} | http://127.0.0.1:9/read/{n} | note" for n in range(LINKS))
    data = get_kind("link_list").validate({"items": items})
    Block.objects.create(issue=issue, position=1, kind="link_list", data=data)
    make_subscribers(issue.newsletter, CLICK_READERS, prefix="clicker")
    dispatch = Dispatch.objects.create(issue=issue, snapshot=freeze_snapshot(issue))
    plan_dispatch(dispatch)
    message = IssueMessage(dispatch)
    prefix = f'href="{settings.SITE_URL}'
    paths = []
    for row in dispatch.deliveries.select_related("subscriber"):
        recipient = Recipient(row.pk, row.subscriber_id, row.subscriber.email)
        html = message.fill(message.html, message.values(recipient, "bench@example.org"))
        tracked = [part.split('"', 1)[0] for part in html.split(prefix)[1:]]
        paths += [path for path in tracked if path.startswith("/c/")][1:]  # not the canary
    return paths


class Clicker:
    """Clicks at a fixed rate until ``stopped`` is set, from one loop over non-blocking
    sockets in a process of its own (``click_at_rate``), each on a connection of its own
    (gunicorn's sync workers close after each answer, as for a reader's click).

    The readers' phones and laptops do the clicking in life, not this machine, so the
    clicker is kept as cheap as it can be: threads of ``http.client`` in the bench's own
    process took about as much CPU as gunicorn's answers, and asyncio's streams about 0.6 ms
    a click; a ``selectors`` loop over plain sockets does with a fraction of that.
    """

    TIMEOUT = 10.0

    def __init__(self, port: int, paths: list[str], stopped):
        self.port, self.paths, self.stopped = port, paths, stopped
        self.latencies: list[float] = []
        self.errors = 0
        self.selector = selectors.DefaultSelector()

    def start(self, path: str, planned: float) -> None:
        """Open a connection for one click; the loop writes the request once it connects."""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "User-Agent: Mozilla/5.0 (bench)\r\nConnection: close\r\n\r\n"
        ).encode()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        self.selector.register(sock, selectors.EVENT_WRITE, [planned, request, bytearray()])

    def finish(self, sock: socket.socket, planned: float, answer: bytes | None) -> None:
        """The click is over: answered whole (``answer``), or failed (None)."""
        self.selector.unregister(sock)
        sock.close()
        if answer is None or answer.split(b" ", 2)[1:2] != [b"302"]:
            self.errors += 1
        self.latencies.append(time.perf_counter() - planned)

    def step(self, sock: socket.socket, events: int, state: list) -> None:
        planned, request, answer = state
        try:
            if events & selectors.EVENT_WRITE:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error or sock.send(request) != len(request):
                    raise OSError(error, "the click could not be sent")
                self.selector.modify(sock, selectors.EVENT_READ, state)
                return
            chunk = sock.recv(65536)
        except OSError:
            self.finish(sock, planned, None)
            return
        if chunk:
            answer += chunk
        else:  # the server closed: the answer is whole
            self.finish(sock, planned, bytes(answer))

    def clicking(self) -> None:
        started, n = time.perf_counter(), 0
        while True:
            stopping = self.stopped.is_set()
            if stopping and not self.selector.get_map():
                return
            now = time.perf_counter()
            while not stopping and started + n / CLICK_RATE <= now:
                self.start(self.paths[n % len(self.paths)], started + n / CLICK_RATE)
                n += 1
            wait = 0.05 if stopping else max(0.0, started + n / CLICK_RATE - now)
            for key, events in self.selector.select(wait):
                self.step(key.fileobj, events, key.data)  # type: ignore[arg-type]
            for key in list(self.selector.get_map().values()):
                if now - key.data[0] > self.TIMEOUT:
                    self.finish(key.fileobj, key.data[0], None)  # type: ignore[arg-type]


def click_at_rate(port: int, paths: list[str], stopped, results) -> None:
    """The clicking process: clicks until ``stopped``, then sends back each click's latency
    (from its planned moment) and the number of errors."""
    clicker = Clicker(port, paths, stopped)
    clicker.clicking()
    results.send((clicker.latencies, clicker.errors))


def p99_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0


def send_once(env: dict, log_dir: str, title: str) -> float:
    """A new issue to every reader of the sending newsletter, by a worker with ``env``: the
    seconds its send took."""
    from celery import current_app
    from django.db import connection

    from issues import delivery
    from issues.models import Dispatch
    from tests.support.factories import make_issue
    from tests.support.processes import celery_worker

    issue = make_issue(title=title, frozen=True)
    # Each send starts from a vacuumed database: autovacuum's cleaning of the first send's
    # dead rows would otherwise fall inside the second, the one with clicks.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    current_app.control.purge()
    with celery_worker(log_dir, concurrency=CORES, env=env):
        dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
        delivery.plan_dispatch(dispatch)
        seconds = send_planned(dispatch)
    sent = dispatch.deliveries.filter(status="sent").count()
    if sent != SIZE:
        sys.exit(f"only {sent} of {SIZE} sent")
    return seconds


def flush_until(stopped: threading.Event) -> None:
    """Store buffered clicks as beat's flush does, every few seconds, until told to stop."""
    from issues.engagement import recorder

    while not stopped.wait(5):
        recorder.flush()
    recorder.flush()


@contextlib.contextmanager
def clicks_arriving(web_port: int, paths: list[str], latencies: list[float]):
    """Clicks at the fixed rate from a process of their own, and beat's flush in a thread of
    this one, for the length of the block; each click's latency is added to ``latencies``.
    Yields a list whose one item is, afterwards, the number of clicks that failed."""
    # Forked while no other thread of this process runs.
    fork = multiprocessing.get_context("fork")
    stop_clicking, (results, sender) = fork.Event(), fork.Pipe(duplex=False)
    clicking = fork.Process(target=click_at_rate, args=(web_port, paths, stop_clicking, sender))
    clicking.start()
    stop_flush = threading.Event()
    flusher = threading.Thread(target=flush_until, args=(stop_flush,))
    flusher.start()
    errors = [0]
    try:
        yield errors
    finally:
        stop_clicking.set()
        these, errors[0] = results.recv()
        latencies += these
        clicking.join()
        stop_flush.set()
        flusher.join()


def main():
    ensure_database(DATABASE_URL)
    web_port = free_port()
    os.environ["SITE_URL"] = f"http://127.0.0.1:{web_port}"
    import django

    django.setup()
    from django.core.management import call_command

    from issues.models import Click
    from tests.support.delivery import make_subscribers
    from tests.support.factories import make_newsletter

    call_command("migrate", interactive=False, verbosity=0)
    reset_data()
    paths = clicked_issue_paths()
    make_subscribers(make_newsletter(), SIZE)
    sink, smtp_port = start_sink()
    server = None
    latencies: list[float] = []
    with_clicks, click_errors = 0.0, 0
    try:
        with tempfile.TemporaryDirectory(prefix="superfast-bench-") as tmp:
            env = site_env(Path(tmp), web_port, DATABASE_URL) | {"REDIS_URL": REDIS_URL}
            (Path(tmp) / "static").mkdir()  # nothing to serve: no static files are asked for
            server = subprocess_gunicorn(env, web_port)
            wait_until_serving(f"http://127.0.0.1:{web_port}/robots.txt", server)
            # The worker on production's settings too, as the site's: with DEBUG on it also
            # logged every query it ran, and clicks weighed less beside a slower send.
            env |= sending_env(smtp_port)
            # Alone, with clicks, with clicks, alone (see above).
            alone = send_once(env, tmp, "Alone on the machine")
            for n in (1, 2):
                with clicks_arriving(web_port, paths, latencies) as errors:
                    with_clicks += send_once(env, tmp, f"Sent while readers click ({n})")
                click_errors += errors[0]
            alone += send_once(env, tmp, "Alone on the machine, again")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        sink.terminate()
        sink.wait()
    clicks, stored = len(latencies), Click.objects.count()
    ratio = alone / with_clicks if with_clicks else 0.0
    p99 = p99_ms(latencies)
    ok = p99 < TARGET_P99_MS and ratio >= TARGET_RATIO and stored == clicks and not click_errors
    print(
        f"BENCH click_during_send n={SIZE} clicks_per_s={CLICK_RATE:.0f} clicks={clicks} "
        f"click_p99_ms={p99:.1f} send_seconds={with_clicks:.2f} alone_seconds={alone:.2f} "
        f"ratio={ratio:.2f} stored={stored} errors={click_errors} "
        f"target_p99_ms={TARGET_P99_MS:.0f} target_ratio={TARGET_RATIO} "
        f"ok={'yes' if ok else 'no'}",
        flush=True,
    )
    reset_data()
    return 0


def subprocess_gunicorn(env: dict, port: int):
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "superfast.wsgi:application"]
        + ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )


if __name__ == "__main__":
    sys.exit(main())
