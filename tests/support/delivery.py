"""Test data for delivery: a newsletter, an issue with a frozen ~10 KB snapshot, subscribers."""

import contextlib
import os
import signal
import time
from pathlib import Path

from issues import placeholders
from issues.models import Dispatch, Issue, Newsletter, Snapshot
from subscribers.models import Subscriber, Subscription

SECTION = """
<tr><td style="padding:16px 24px;font-family:Georgia,serif;font-size:16px;line-height:1.5;
color:#222">
<h2 style="font-size:20px;margin:0 0 8px">{title}</h2>
<p style="margin:0 0 12px">This week we looked at how small teams keep their tools boring on
purpose, why a queue that forgets is worse than a slow one, and what a reader's inbox
says about trust.
Every paragraph here is written for the tests: long enough to weigh like a real issue, plain
enough to read — with a few accents, café and naïve, to keep the encoding honest.</p>
<p style="margin:0"><a href="https://example.org/read/{n}" style="color:#1a73e8">Read the piece</a>
</p>
</td></tr>"""


def email_html(sections=14):
    body = "".join(SECTION.format(title=f"Section {n}", n=n) for n in range(sections))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Issue</title></head>'
        '<body style="margin:0;background:#f4f4f4">'
        '<table role="presentation" width="600" align="center" style="background:#fff">'
        f'<tr><td style="padding:24px">Hello {placeholders.SUBSCRIBER_NAME},</td></tr>{body}'
        '<tr><td style="padding:24px;font-size:12px;color:#666">'
        f"You get this as {placeholders.SUBSCRIBER_EMAIL}. "
        f'<a href="{placeholders.UNSUBSCRIBE_URL}">Unsubscribe</a> · '
        f'<a href="{placeholders.PREFERENCES_URL}">Preferences</a></td></tr>'
        "</table></body></html>"
    )


def email_text(sections=14):
    body = "\n\n".join(
        f"## Section {n}\n\nWhy a queue that forgets is worse than a slow one. "
        f"https://example.org/read/{n}"
        for n in range(sections)
    )
    return (
        f"Hello {placeholders.SUBSCRIBER_NAME},\n\n{body}\n\n"
        f"Unsubscribe: {placeholders.UNSUBSCRIBE_URL}\n"
        f"Preferences: {placeholders.PREFERENCES_URL}\n"
    )


def make_issue(slug="weekly", title="Boring tools, reliable queues"):
    newsletter, _ = Newsletter.objects.get_or_create(
        slug=slug,
        defaults={
            "name": "The Weekly Dispatch",
            "from_name": "The Weekly Dispatch",
            "from_email": "news@example.org",
        },
    )
    issue = Issue.objects.create(newsletter=newsletter, title=title)
    Snapshot.objects.create(
        issue=issue,
        subject=title,
        web_html="<p>web</p>",
        email_html=email_html(),
        text=email_text(),
    )
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


def wait_for_dispatch(dispatch, statuses=(Dispatch.Status.DONE,), timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch.refresh_from_db()
        if dispatch.status in statuses:
            return dispatch
        time.sleep(0.3)
    raise AssertionError(f"dispatch {dispatch.pk} is {dispatch.status} after {timeout}s")


def wait_until(condition, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")


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


def kill_hard(proc):
    """``kill -9`` a worker and its pool processes at once: no cleanup, no acknowledgement."""
    for pid in [*children_of(proc.pid), proc.pid]:
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
