"""Test data for delivery: a newsletter, an issue with a frozen ~10 KB snapshot, subscribers."""

import contextlib
import os
import signal
import time
from pathlib import Path

from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Dispatch, Issue, Newsletter
from subscribers.models import Subscriber, Subscription

from .waiting import wait_until

INTRO = "Hello,\n\nThis week: boring tools, reliable queues."

PARAGRAPH = (
    "This week we looked at how small teams keep their tools boring on purpose, why a queue "
    "that forgets is worse than a slow one, and what a reader's inbox says about trust. Every "
    "paragraph here is written for the tests: long enough to weigh like a real issue, plain "
    "enough to read, with a few accents, café and naïve, to keep the encoding honest."
)


def add_blocks(issue, sections=8):
    """Blocks that render to an email of about 10 KB."""
    raw_blocks = [("markdown", {"body": INTRO})]
    for n in range(sections):
        raw_blocks += [
            ("heading", {"title": f"Section {n}"}),
            ("markdown", {"body": PARAGRAPH}),
            ("link_list", {"items": f"Read the piece | https://example.org/read/{n} | why"}),
        ]
    Block.objects.bulk_create(
        Block(issue=issue, position=position, kind=kind, data=get_kind(kind).validate(raw))
        for position, (kind, raw) in enumerate(raw_blocks, start=1)
    )


def make_issue(slug="weekly", title="Boring tools, reliable queues"):
    """An issue with real blocks, its snapshot frozen by the real renderer."""
    newsletter, _ = Newsletter.objects.get_or_create(
        slug=slug,
        defaults={
            "name": "The Weekly Dispatch",
            "from_name": "The Weekly Dispatch",
            "from_email": "news@example.org",
        },
    )
    issue = Issue.objects.create(newsletter=newsletter, title=title)
    add_blocks(issue)
    freeze_snapshot(issue)
    return issue


def make_subscribers(newsletter, count, prefix="reader", status="active", subscription="active"):
    """``count`` subscribers of ``newsletter``, created in bulk; returns them in id order."""
    Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{n}@example.com", name=f"Reader {n}", status=status)
        for n in range(count)
    )
    subscribers = list(Subscriber.objects.filter(email__startswith=prefix).order_by("id"))
    Subscription.objects.bulk_create(
        Subscription(subscriber=s, newsletter=newsletter, status=subscription) for s in subscribers
    )
    return subscribers


def planned_dispatch(count=30):
    """A dispatch of a new issue to ``count`` new subscribers, planned as the worker plans."""
    from issues.delivery import plan_dispatch

    issue = make_issue()
    make_subscribers(issue.newsletter, count)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    plan_dispatch(dispatch)
    dispatch.refresh_from_db()
    return dispatch


def wait_for_dispatch(dispatch, statuses=(Dispatch.Status.DONE,), timeout=120):
    def reached():
        dispatch.refresh_from_db()
        return dispatch.status in statuses

    wait_until(reached, timeout, what=f"dispatch {dispatch.pk} reaching {statuses}", interval=0.3)
    return dispatch


def children_of(pid):
    """Process ids whose parent is ``pid`` (a prefork worker's pool processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_hard(proc, pids=None):
    """``kill -9`` a worker and its pool processes at once: no cleanup, no acknowledgement.

    ``pids`` (the worker's and its pool's, looked up beforehand) makes the kill immediate:
    reading /proc to find them takes longer than a batch."""
    for pid in pids or [*children_of(proc.pid), proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


def record_arrival_times(sink):
    """Make ``sink`` note the monotonic time each message arrives; returns that list."""
    arrivals = []
    original = sink.handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        arrivals.append(time.monotonic())
        return await original(server, session, envelope)

    sink.handler.handle_DATA = handle_DATA
    return arrivals
