"""Test data for delivery: subscribers in bulk, a planned dispatch, waiting for a send."""

import contextlib
import os
import signal
import time
from pathlib import Path

from issues.models import Dispatch
from subscribers.models import Subscriber, Subscription

from .factories import make_issue
from .waiting import wait_until


def make_subscribers(
    newsletter, count, prefix="reader", status="active", subscription="active", confirmed_at=None
):
    """``count`` subscribers of ``newsletter``, created in bulk; returns them in id order.

    ``confirmed_at``: when their subscriptions were confirmed (what welcome sequences read).
    """
    Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{n}@example.com", name=f"Reader {n}", status=status)
        for n in range(count)
    )
    subscribers = list(Subscriber.objects.filter(email__startswith=prefix).order_by("id"))
    Subscription.objects.bulk_create(
        Subscription(
            subscriber=s, newsletter=newsletter, status=subscription, confirmed_at=confirmed_at
        )
        for s in subscribers
    )
    return subscribers


def planned_dispatch(count=30):
    """A dispatch of a new issue to ``count`` new subscribers, planned as the worker plans."""
    from issues.delivery import plan_dispatch

    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, count)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    plan_dispatch(dispatch)
    dispatch.refresh_from_db()
    return dispatch


def confirm_and_send(client, issue, audience=""):
    """Open the send page for ``audience`` (as choosing it in the menu does), press Yes;
    returns the page as the editor saw it and the dispatch it started."""
    from .forms import as_post_data, submitted_fields

    url = f"/admin/issues/issue/{issue.pk}/send/"
    page = client.get(url, {"audience": audience} if audience else {})
    assert page.status_code == 200
    html = page.content.decode()
    fields = as_post_data(submitted_fields(html, "send-form"))
    response = client.post(url, fields)
    assert response.status_code == 302, response.content.decode()[:1500]
    return html, Dispatch.objects.filter(issue=issue).order_by("-pk").first()


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
