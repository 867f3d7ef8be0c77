"""The periodic job (beat, every ``SEND_SWEEP_INTERVAL_SECONDS``): start due schedules,
return expired claims, restart dispatches that went quiet, decide subject tests whose wait
is over."""

from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.utils import timezone

from ..models import Delivery, Dispatch
from .ledger import sweep_expired_claims
from .lifecycle import cancel_unsent_rows, finish_if_complete, start_due_dispatches
from .queue import enqueue_plan, enqueue_senders
from .subject_tests import decide_due_tests


def restart_stalled_dispatches(now: datetime | None = None) -> list[int]:
    """Queue sender (or planner) tasks for dispatches with no heartbeat for a lease.

    Tasks can vanish (a broker restarted without persistence, a killed worker on a broker
    that does not redeliver); the ledger still knows what is left, so the sweeper restarts
    the work. An extra task is harmless: claims are atomic.
    """
    now = now or timezone.now()
    quiet = now - timedelta(seconds=settings.SEND_LEASE_SECONDS)
    stalled = Dispatch.objects.filter(
        status__in=[Dispatch.Status.PLANNING, Dispatch.Status.SENDING], heartbeat_at__lt=quiet
    )
    restarted = []
    for dispatch in stalled:
        if not Dispatch.objects.filter(pk=dispatch.pk, heartbeat_at__lt=quiet).update(
            heartbeat_at=now
        ):
            continue
        if dispatch.status == Dispatch.Status.PLANNING:
            enqueue_plan(dispatch.pk)
        elif not finish_if_complete(dispatch):
            enqueue_senders(dispatch.pk)
        restarted.append(dispatch.pk)
    return restarted


def settle_cancelled_dispatches() -> int:
    """Rows of a cancelled dispatch that came back to wait (a dead worker's expired claim)
    are cancelled: nothing will send them, and "Send to the rest…" offers their readers."""
    cancelled = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.HELD],
        dispatch__status=Dispatch.Status.CANCELLED,
    )
    ids = set(cancelled.values_list("dispatch_id", flat=True).distinct())
    return sum(cancel_unsent_rows(pk) for pk in ids)


class Swept(TypedDict):
    """What one sweep did (the beat task's result, in the worker's log)."""

    started: list[int]  # dispatches whose schedule came due
    returned: int  # rows whose claim expired, pending again
    restarted: list[int]  # dispatches that went quiet, queued again
    decided: list[int]  # dispatches whose subject test picked its winner


def sweep(now: datetime | None = None) -> Swept:
    now = now or timezone.now()
    swept: Swept = {
        "started": [d.pk for d in start_due_dispatches(now)],
        "returned": sweep_expired_claims(now),
        "restarted": restart_stalled_dispatches(now),
        "decided": decide_due_tests(now),
    }
    settle_cancelled_dispatches()
    return swept
