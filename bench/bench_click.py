"""Click redirect speed: the tracked-link redirect against a static file, same gunicorn, same run.

Builds a throwaway site (DEBUG off, static files collected) with one issue rendered for
sending to 200 readers, and a Redis of its own as the click buffer. gunicorn serves it
with 2 workers on loopback; wrk (32 connections) loads a fixed small static file and the
redirect in turn, three rounds each, alternating; medians count. The redirect runs go round
2,000 genuine tracked URLs (200 readers × 10 links), as a crowd of readers would. Prints:

    BENCH click rps=... p99_ms=... static_rps=... ratio=... static_p99_ms=... buffered=...
        requests=... ok=yes|no

``ratio`` is the redirect's rate over the static file's; targets ratio >= 0.5 and p99 under
25 ms. ``buffered`` must equal ``requests``: every click wrk made is in the buffer, none
lost under load. ``BENCH_SECONDS`` sets each run's length (default 4).
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_archive import (
    CONNECTIONS,
    ROOT,
    STATIC_PATH,
    bench_database,
    free_port,
    site_env,
    wait_until_serving,
    wrk,
)

TARGET_RATIO = 0.5
TARGET_P99_MS = 25.0
ROUNDS = 3
READERS = 200
LINKS = 10
STREAM = "superfast:engagement:events"

LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["User-Agent"] = "Mozilla/5.0 (bench)"})
end
"""


def seed(paths_file: str):
    """Inside the site's environment: migrate, collect static, render an issue for sending,
    plan its deliveries, and write each reader's tracked link paths, one a line."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from issues.compose.blocks import get_kind
    from issues.delivery import plan_dispatch
    from issues.delivery.message import IssueMessage
    from issues.delivery.outcomes import Recipient
    from issues.delivery.snapshot import freeze_snapshot
    from issues.models import Block, Dispatch, Issue, Newsletter
    from subscribers.models import Subscriber, Subscription

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    newsletter = Newsletter.objects.create(
        name="Bench Weekly", slug="bench", from_name="Bench", from_email="bench@example.org"
    )
    issue = Issue.objects.create(newsletter=newsletter, title="Ten links worth a click")
    items = "\n".join(
        f"Link {n} | https://example.org/read/{n}?a=1&b=2 | note" for n in range(LINKS)
    )
    Block.objects.create(
        issue=issue,
        position=1,
        kind="link_list",
        data=get_kind("link_list").validate({"items": items}),
    )
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n}@example.com", status="active") for n in range(READERS)
    )
    Subscription.objects.bulk_create(
        Subscription(subscriber=s, newsletter=newsletter, status="active")
        for s in Subscriber.objects.all()
    )
    dispatch = Dispatch.objects.create(issue=issue, snapshot=freeze_snapshot(issue))
    plan_dispatch(dispatch)
    message = IssueMessage(dispatch)
    prefix = re.escape(settings.SITE_URL)
    with open(paths_file, "w") as out:
        for row in dispatch.deliveries.select_related("subscriber"):
            recipient = Recipient(row.pk, row.subscriber_id, row.subscriber.email)
            html = message.fill(message.html, message.values(recipient, "bench@example.org"))
            tracked = re.findall(rf'href="{prefix}(/c/[^"]+)"', html)[1:]  # not the canary
            out.writelines(path + "\n" for path in tracked)


def redis_server(directory: Path):
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    return proc, f"redis://127.0.0.1:{port}/0"


def stream_length(url: str) -> int:
    import redis

    return redis.Redis.from_url(url).xlen(STREAM)


def main():
    seconds = int(os.environ.get("BENCH_SECONDS", "4"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="superfast-bench-") as tmp,
        bench_database(Path(tmp)) as database_url,
    ):
        var_dir = Path(tmp)
        buffer, buffer_url = redis_server(var_dir)
        env = site_env(var_dir, port, database_url) | {"REDIS_URL": buffer_url}
        paths_file, script = var_dir / "paths.txt", var_dir / "clicks.lua"
        script.write_text(LUA % paths_file)
        server = None
        try:
            subprocess.run(
                [sys.executable, "-m", "bench.bench_click", "--seed", str(paths_file)],
                cwd=ROOT,
                env=env,
                check=True,
            )
            first = base + paths_file.read_text().splitlines()[0]
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "superfast.wsgi:application"]
                + ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                cwd=ROOT,
                env=env,
            )
            wait_until_serving(base + STATIC_PATH, server)
            for _ in range(20):  # every worker loads the link table before the clock starts
                subprocess.run(["curl", "-s", "-o", "/dev/null", first], check=False)
            warmup = stream_length(buffer_url)
            static_runs, click_runs = [], []
            for _ in range(ROUNDS):
                static_runs.append(wrk(base + STATIC_PATH, seconds))
                click_runs.append(wrk(base + "/", seconds, str(script)))
            time.sleep(0.5)
            buffered = stream_length(buffer_url) - warmup
        finally:
            if server:
                server.terminate()
                server.wait(timeout=30)
            buffer.terminate()
            buffer.wait(timeout=30)
    static_rps = statistics.median(rps for rps, _, _ in static_runs)
    static_p99_ms = statistics.median(p99 for _, p99, _ in static_runs)
    rps = statistics.median(rps for rps, _, _ in click_runs)
    p99_ms = statistics.median(p99 for _, p99, _ in click_runs)
    requests = sum(n for _, _, n in click_runs)
    ratio = rps / static_rps if static_rps else 0.0
    ok = ratio >= TARGET_RATIO and p99_ms < TARGET_P99_MS and buffered >= requests
    print(
        f"BENCH click rps={rps:.0f} p99_ms={p99_ms:.1f} static_rps={static_rps:.0f} "
        f"ratio={ratio:.2f} static_p99_ms={static_p99_ms:.1f} buffered={buffered} "
        f"requests={requests} connections={CONNECTIONS} "
        f"database={database_url.split(':', 1)[0]} target_ratio={TARGET_RATIO} "
        f"target_p99_ms={TARGET_P99_MS:.0f} ok={'yes' if ok else 'no'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    if "--seed" in sys.argv:
        seed(sys.argv[-1])
    else:
        sys.exit(main())
