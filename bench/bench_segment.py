"""``make bench``: count a segment of 100,000 subscribers, and plan a send to it.

PostgreSQL. The audience is loaded with set-based SQL (``INSERT … SELECT`` over
``generate_series``): 100,000 subscribers of one newsletter, 3% of them bounced and 2%
unsubscribed from it, tagged "researchers" (30%), "press" (10%) and "vip" (2%), signed up
over the last two years. The segment is "researchers or press, not vip, signed up in the
last 18 months" (about a third of the list).

Prints one line:

    BENCH segment subscribers=100000 members=... count_ms=... list_count_ms=...
          plan_seconds=... full_plan_seconds=... ratio=... limit_count_ms=200 ok=... load=...

``count_ms`` is the median of 7 counts as the segment's admin page makes them;
``list_count_ms`` the median of 7 counts of the newsletter's whole list (the figure the send
confirmation page always computed), in alternation, to read ``count_ms`` against the
machine's load (``load``: the one-minute load average at the end);
``plan_seconds`` the median of 3 plans of a dispatch to the segment, ``full_plan_seconds``
of 3 plans of a dispatch to everyone, in alternation in the same run; ``ratio`` the first
over the second. ``ok=yes`` when the count takes under 200 ms and planning the segment is
no slower than planning the whole list (ratio <= 1).

Settings: ``BENCH_SEGMENT_DATABASE_URL`` (default a ``superfast_bench_segment`` database on
the local PostgreSQL, created when missing and emptied: never a real database),
``BENCH_SEGMENT_SUBSCRIBERS`` (default 100000).
"""

import os
import statistics
import sys
import time
from pathlib import Path

from bench.support import migrated_and_empty, reset_data

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_SEGMENT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/superfast_bench_segment"
)
SUBSCRIBERS = int(os.environ.get("BENCH_SEGMENT_SUBSCRIBERS", "100000"))
LIMIT_COUNT_MS = 200

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SETTINGS_MODULE="superfast.settings",
    VAR_DIR=str(ROOT / "var" / "bench"),
)
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
sys.path.insert(0, str(ROOT))


def insert_select(model, given: dict, source: str, params: list) -> None:
    """``INSERT INTO model (...) SELECT ... FROM source``: the ``given`` columns as SQL
    expressions, every other non-null column at its model default (so columns other
    features add later need no change here)."""
    from django.db import connection

    columns, defaults = list(given), []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in given or field.null:
            continue
        columns.append(field.column)
        defaults.append(field.get_db_prep_save(field.get_default(), connection))
    values = ", ".join([*given.values(), *["%s"] * len(defaults)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {values} FROM {source}",
            [*defaults, *params],
        )


def load_audience(newsletter, tags):
    """The subscribers, their subscriptions and tags, each in one INSERT … SELECT."""
    from django.db import connection

    from subscribers.models import Subscriber, Subscription

    subscriber = {
        "email": "'reader' || n || '@example.com'",
        "name": "'Reader ' || n",
        "status": "CASE WHEN n %% 33 = 0 THEN 'bounced' ELSE 'active' END",
        "source": "'import'",
        "created_at": "now() - (n %% 730) * interval '1 day'",
    }
    insert_select(Subscriber, subscriber, "generate_series(1, %s) AS n", [SUBSCRIBERS])
    subscription = {
        "subscriber_id": "s.id",
        "newsletter_id": str(int(newsletter.pk)),
        "status": "CASE WHEN s.id %% 50 = 0 THEN 'unsubscribed' ELSE 'active' END",
        "created_at": "s.created_at",
    }
    insert_select(Subscription, subscription, "subscribers_subscriber AS s", [])
    with connection.cursor() as cursor:
        for (tag, share), spread in zip(tags, (7919, 104729, 1299709), strict=False):
            cursor.execute(
                "INSERT INTO subscribers_subscriber_tags (subscriber_id, tag_id) "
                "SELECT id, %s FROM subscribers_subscriber WHERE (id * %s + 17) %% 100 < %s",
                [tag.pk, spread, share],
            )
        cursor.execute("ANALYZE")


def timed(func):
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def main():
    migrated_and_empty(DATABASE_URL)
    from datetime import timedelta

    from django.utils import timezone

    from issues.delivery import plan_dispatch
    from issues.models import Delivery, Dispatch
    from subscribers.models import Segment, Tag
    from subscribers.segments import segment_members
    from subscribers.selectors import recipients
    from tests.support.factories import make_issue

    issue = make_issue(frozen=True)
    researchers, press, vip = (Tag.objects.create(name=n) for n in ("researchers", "press", "vip"))
    load_audience(issue.newsletter, [(researchers, 30), (press, 10), (vip, 2)])
    segment = Segment.objects.create(
        name="Researchers and press, not VIPs, recent",
        newsletter=issue.newsletter,
        signed_up_after=(timezone.now() - timedelta(days=548)).date(),
    )
    segment.tags_any.set([researchers, press])
    segment.tags_none.set([vip])

    members = segment_members(segment).count()
    counts, list_counts = [], []
    for _ in range(7):
        counts.append(timed(lambda: segment_members(segment).count())[0] * 1000)
        list_counts.append(timed(lambda: recipients(issue.newsletter_id).count())[0] * 1000)
    count_ms, list_count_ms = statistics.median(counts), statistics.median(list_counts)

    def plan(target):
        Delivery.objects.all().delete()
        Dispatch.objects.all().delete()
        dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot, segment=target)
        seconds, planned = timed(lambda: plan_dispatch(dispatch))
        return seconds, planned

    segment_runs, full_runs = [], []
    for _ in range(3):
        seconds, planned = plan(segment)
        if planned != members:
            sys.exit(f"planned {planned} for a segment of {members}")
        segment_runs.append(seconds)
        full_runs.append(plan(None)[0])
    plan_seconds, full_seconds = statistics.median(segment_runs), statistics.median(full_runs)
    ratio = plan_seconds / full_seconds
    ok = count_ms < LIMIT_COUNT_MS and ratio <= 1
    print(
        f"BENCH segment subscribers={SUBSCRIBERS} members={members} count_ms={count_ms:.1f} "
        f"list_count_ms={list_count_ms:.1f} plan_seconds={plan_seconds:.2f} "
        f"full_plan_seconds={full_seconds:.2f} ratio={ratio:.2f} "
        f"limit_count_ms={LIMIT_COUNT_MS} ok={'yes' if ok else 'no'} load={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if not os.environ.get("BENCH_SEGMENT_KEEP"):
        reset_data()


if __name__ == "__main__":
    main()
