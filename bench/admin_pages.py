"""How long the admin's busiest pages take on a big list: ``admin_page_times``.

``admin_page_times(client_or_base_url, newsletter_id=…, issue_id=…)`` asks each page a few
times (after one warm-up request) and returns ``{page: median milliseconds}``: the
subscriber changelist unfiltered, filtered by status, by newsletter and (given ``tag_id``)
by tag, searched by an email prefix; the issue list; a sent issue's delivery page and
engagement report; the newsletter's dashboard. It takes a logged-in Django test
``Client`` (server time, no network) or the base URL of a running server with a
superuser's ``session_id``.

Run as ``python -m bench.admin_pages``: fills ``BENCH_ADMIN_DATABASE_URL`` (default
``superfast_bench_admin`` on the local server) with ``BENCH_ADMIN_SUBSCRIBERS`` readers
(default 1,000,000) and ten sent issues to all of them (10,000,000 delivery rows), unless it
holds them already, migrates, and prints
``BENCH admin subscribers=… deliveries=… <page>_ms=… admin_ms_max=… limit_ms=500 ok=…``.
"""

import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LIMIT_MS = 500
RUNS = 3
SEARCH_PREFIX = "READER12345"  # typed in capitals: the search ignores case


def admin_pages(
    newsletter_id: int, issue_id: int, search: str = SEARCH_PREFIX, tag_id: int | None = None
) -> dict[str, str]:
    """The pages measured, by name: admin paths with their query strings."""
    subscribers = "/admin/subscribers/subscriber/"
    issue = f"/admin/issues/issue/{issue_id}"
    tagged = {"subscribers_tag": f"{subscribers}?tags__id__exact={tag_id}"} if tag_id else {}
    return {
        "subscribers": subscribers,
        "subscribers_active": f"{subscribers}?status__exact=active",
        "subscribers_complained": f"{subscribers}?status__exact=complained",
        "subscribers_newsletter": (
            f"{subscribers}?subscriptions__newsletter__id__exact={newsletter_id}"
        ),
        "subscribers_active_newsletter": (
            f"{subscribers}?status__exact=active"
            f"&subscriptions__newsletter__id__exact={newsletter_id}"
        ),
        **tagged,
        "subscribers_search": f"{subscribers}?q={search}",
        "issues": "/admin/issues/issue/",
        "delivery": f"{issue}/delivery/",
        "delivery_report": f"{issue}/report/",
        "report": f"{issue}/engagement/",
        "dashboard": f"/admin/issues/newsletter/{newsletter_id}/dashboard/",
    }


def admin_page_times(
    client_or_base_url,
    *,
    newsletter_id: int,
    issue_id: int,
    search: str = SEARCH_PREFIX,
    tag_id: int | None = None,
    session_id: str = "",
    runs: int = RUNS,
) -> dict[str, float]:
    """``{page: median ms}`` over ``runs`` requests each, after one warm-up request.

    Every answer must be a 200: a page that fails fast measures nothing.
    """
    get = page_getter(client_or_base_url, session_id)
    times = {}
    for name, path in admin_pages(newsletter_id, issue_id, search, tag_id).items():
        get(path)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            status = get(path)
            samples.append((time.perf_counter() - start) * 1000)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
        times[name] = round(statistics.median(samples), 1)
    return times


def page_getter(client_or_base_url, session_id: str):
    """A function fetching an admin path and returning its status code."""
    if not isinstance(client_or_base_url, str):
        # Over HTTPS, as production serves it (plain HTTP would answer its redirect).
        return lambda path: client_or_base_url.get(path, secure=True).status_code
    base = client_or_base_url.rstrip("/")

    def get(path):
        request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={session_id}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status

    return get


DATABASE_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench_admin"
)
SUBSCRIBERS = int(os.environ.get("BENCH_ADMIN_SUBSCRIBERS", "1000000"))
ISSUES = 10


def setup_django(folder):
    from bench.support import ensure_database

    ensure_database(DATABASE_URL)
    os.environ["VAR_DIR"] = str(folder)
    os.environ["DATABASE_URL"] = DATABASE_URL
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def filled(subscribers: int):
    """The data a previous run left, when it has the size asked for (else None)."""
    from bench.scale_data import ScaleData
    from issues.models import Issue, Newsletter
    from subscribers.models import Subscriber, Tag

    newsletter = Newsletter.objects.filter(slug="scale").first()
    if newsletter is None or Subscriber.objects.count() != subscribers:
        return None
    sent = Issue.objects.filter(newsletter=newsletter, status=Issue.Status.SENT)
    return ScaleData(
        newsletter_id=newsletter.pk,
        issue_ids=list(sent.order_by("number").values_list("pk", flat=True)),
        draft_id=Issue.objects.get(newsletter=newsletter, status=Issue.Status.DRAFT).pk,
        tag_id=Tag.objects.get(name="early readers").pk,
        subscribers=subscribers,
        deliveries=subscribers * sent.count(),
    )


def main():
    setup_django(tempfile.mkdtemp(prefix="bench-admin-"))
    from django.contrib.auth.models import User
    from django.test import Client

    from bench.scale_data import fill_scale
    from bench.support import reset_data

    data = filled(SUBSCRIBERS)
    if data is None:
        reset_data()
        start = time.perf_counter()
        data = fill_scale(SUBSCRIBERS, ISSUES, log=lambda line: print(f"# {line}", flush=True))
        print(f"# filled in {time.perf_counter() - start:.0f} s", flush=True)
    client = Client()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.org", "x"
    )
    client.force_login(user)
    times = admin_page_times(
        client, newsletter_id=data.newsletter_id, issue_id=data.issue_ids[-1], tag_id=data.tag_id
    )
    worst = max(times.values())
    pages = " ".join(f"{name}_ms={ms}" for name, ms in times.items())
    print(
        f"BENCH admin subscribers={data.subscribers} deliveries={data.deliveries} {pages} "
        f"admin_ms_max={worst} limit_ms={LIMIT_MS} ok={worst < LIMIT_MS}"
    )
    return 0 if worst < LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
