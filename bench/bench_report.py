"""An issue's report as an editor opens it: the page, its click map and its CSV.

Server time through the real admin views (Django's test client, no network) on a fresh
PostgreSQL database (``BENCH_REPORT_DATABASE_URL``, default ``superfast_bench_report`` on
the local server, dropped and created again), for a 25-block issue sent to a small and to a
large audience with their clicks (the rows are written in bulk here: this measures reading
them). Prints
``BENCH report deliveries=... clicks=... page_ms=... map_ms=... csv_ms=... queries=...
small_page_ms=... scale_ratio=... limit_ms=1000 ratio=... ok=...``: medians of several
runs; ``ratio`` is the large page against the one-second limit, ``scale_ratio`` the large
page against the small one (aggregate queries: it should stay near 1, not grow with rows).
"""

import os
import random
import statistics
import sys
import tempfile
import time

from bench.support import ensure_database, setup_django

RUNS = 7
LIMIT_MS = 1000
SIZES = {"small": (200, 1_000), "large": (20_000, 100_000)}
DATABASE_URL = os.environ.get(
    "BENCH_REPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench_report"
)


def analyze():
    """Fresh statistics after the bulk load, as autovacuum would give a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def sent_issue(slug, deliveries, clicks):
    """A sent 25-block issue, its link table, deliveries and people's and machines' clicks."""
    from django.utils import timezone

    from issues.delivery.snapshot import freeze_snapshot
    from issues.models import Click, Delivery, Dispatch, Issue, Newsletter, TrackedLink
    from subscribers.models import Subscriber
    from tests.support.factories import add_blocks

    newsletter = Newsletter.objects.create(
        slug=slug, name=slug, from_name=slug, from_email=f"{slug}@example.org"
    )
    issue = Issue.objects.create(newsletter=newsletter, title=f"Last week in {slug}")
    add_blocks(issue)
    snapshot = freeze_snapshot(issue)
    Issue.objects.filter(pk=issue.pk).update(status="sent", published_at=timezone.now())
    # Freezing wrote the link table, as it does for every send.
    links = list(TrackedLink.objects.filter(issue=issue, is_canary=False).order_by("position"))
    Subscriber.objects.bulk_create(
        (Subscriber(email=f"{slug}{n}@example.com", status="active") for n in range(deliveries)),
        batch_size=5000,
    )
    dispatch = Dispatch.objects.create(issue=issue, snapshot=snapshot)
    Delivery.objects.bulk_create(
        (
            Delivery(issue=issue, dispatch=dispatch, subscriber_id=pk, status="sent")
            for pk in Subscriber.objects.filter(email__startswith=slug).values_list("pk", flat=True)
        ),
        batch_size=5000,
    )
    rng, now = random.Random(7), timezone.now()
    Click.objects.bulk_create(
        (
            Click(
                issue=issue,
                link=links[min(int(rng.expovariate(0.4)), len(links) - 1)],
                reader=f"{rng.randrange(deliveries // 3):032x}",
                at=now,
                is_machine=n % 10 == 0,
                event_id=f"{slug}-{n}",
            )
            for n in range(clicks)
        ),
        batch_size=5000,
    )
    return issue


def median_ms(function, runs=RUNS):
    function()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    ensure_database(DATABASE_URL, fresh=True)
    setup_django(tempfile.mkdtemp(prefix="bench-report-"), DATABASE_URL)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(User.objects.create_superuser("bench", "bench@example.org", "x"))
    figures = {}
    for size, (deliveries, clicks) in SIZES.items():
        issue = sent_issue(size, deliveries, clicks)
        analyze()
        base = f"/admin/issues/issue/{issue.pk}/engagement/"

        def get(url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        figures[size] = {
            "page": median_ms(lambda base=base: get(base)),
            "map": median_ms(lambda base=base: get(base + "click-map/")),
            "csv": median_ms(lambda base=base: get(base + "links.csv")),
        }
        with CaptureQueriesContext(connection) as queries:
            get(base)
        figures[size]["queries"] = len(queries)
    large, small = figures["large"], figures["small"]
    deliveries, clicks = SIZES["large"]
    ratio = large["page"] / LIMIT_MS
    ok = ratio < 1 and large["map"] < LIMIT_MS and large["queries"] == small["queries"]
    print(
        f"BENCH report deliveries={deliveries} clicks={clicks} page_ms={large['page']:.0f} "
        f"map_ms={large['map']:.0f} csv_ms={large['csv']:.0f} queries={large['queries']} "
        f"small_page_ms={small['page']:.0f} scale_ratio={large['page'] / small['page']:.2f} "
        f"limit_ms={LIMIT_MS} ratio={ratio:.2f} ok={'yes' if ok else 'no'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
