"""``make bench``: plan a welcome step for 100,000 readers who confirmed on one day.

PostgreSQL. The beat task's own function (``plan_due_steps``) plans the first step of a
three-step sequence for every reader at once; then the next beat, which finds the step's
watermark and reads only the last minutes. The limit, measured in the same run on the same
readers: planning an issue's send to all of them (``plan_dispatch``, the same INSERT …
SELECT without the sequence's conditions). Prints:

    BENCH sequence subscribers=... plan_seconds=... rows=... next_beat_ms=...
          send_plan_seconds=... ratio=...

Settings: ``BENCH_DATABASE_URL`` (default a ``superfast_bench`` database on the local
PostgreSQL, created when missing), ``BENCH_SEQUENCE_SIZE`` (default 100000).
"""

import os
import sys
import time
from datetime import timedelta

from bench.bench_send import DATABASE_URL, ROOT
from bench.support import migrated_and_empty

SIZE = int(os.environ.get("BENCH_SEQUENCE_SIZE", "100000"))

os.environ.update(DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE="superfast.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))


def confirmed_today(newsletter, size):
    """``size`` readers, confirmed at times spread over the last 20 hours."""
    from django.db import connection

    from tests.support.delivery import make_subscribers

    make_subscribers(newsletter, size)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE subscribers_subscription SET confirmed_at = "
            "now() - (id %% 72000) * interval '1 second' WHERE newsletter_id = %s",
            [newsletter.pk],
        )


def main():
    migrated_and_empty(DATABASE_URL)
    from django.utils import timezone

    from issues import sequences
    from issues.delivery import plan_dispatch
    from issues.models import Delivery, Dispatch, SequenceStep, WelcomeSequence
    from tests.support.factories import add_blocks, make_issue

    issue = make_issue(frozen=True)
    newsletter = issue.newsletter
    confirmed_today(newsletter, SIZE)
    yesterday = timezone.now() - timedelta(days=1)
    sequence = sequences.sequence_for(newsletter)
    WelcomeSequence.objects.filter(pk=sequence.pk).update(starts_at=yesterday)
    sequence.refresh_from_db()
    for n, days in enumerate((0, 2, 7), start=1):
        step = sequences.add_step(sequence, title=f"Welcome {n}", delay=timedelta(days=days))
        add_blocks(step.issue, sections=3)
    SequenceStep.objects.update(created_at=yesterday)  # the sequence was there before them

    from unittest import mock

    # Senders are not started: this measures the planning (the send bench measures sending).
    with mock.patch("issues.sequences.planning.enqueue_senders"):
        started = time.perf_counter()
        planned = sequences.plan_due_steps()
        plan_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = sequences.plan_due_steps()
        next_beat_ms = (time.perf_counter() - started) * 1000
    rows = Delivery.objects.filter(issue__sequence_step__sequence=sequence).count()
    if rows != SIZE or sum(planned.values()) != SIZE or sum(again.values()):
        sys.exit(f"planned {planned}, then {again}; {rows} rows for {SIZE} readers")

    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    started = time.perf_counter()
    plan_dispatch(dispatch)
    send_plan_seconds = time.perf_counter() - started
    print(
        f"BENCH sequence subscribers={SIZE} plan_seconds={plan_seconds:.2f} rows={rows} "
        f"next_beat_ms={next_beat_ms:.0f} send_plan_seconds={send_plan_seconds:.2f} "
        f"ratio={plan_seconds / send_plan_seconds:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
