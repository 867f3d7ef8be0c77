"""The sender's loop: claim → build → transport → mark → auto-pause, batch after batch."""

import time
from collections import Counter
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from superfast.mail import domain_of

from ..models import Delivery, Dispatch
from .ledger import Heartbeat, claim_batch, mark, persistently, sweep_expired_claims
from .lifecycle import cancel_unsent_rows, finish_if_complete, pause, publish
from .message import issue_message, message_id_suffix
from .outcomes import Batch, ConnectionFailed, Recipient
from .ratelimit import limiter
from .transports import send_batch

Status = Delivery.Status
SENDER_BUDGET_SECONDS = 60  # a sender task yields its worker slot after this long


def send_next_batch(dispatch: Dispatch) -> int:
    """Claim, send and mark one batch; the number of rows it held (0: nothing due)."""
    token, rows = persistently(lambda: claim(dispatch), what="claiming a batch")
    if not rows:
        return 0
    # One message per subject variant (one in all but a subject test), each serialized once.
    by_variant: dict[int | None, list[Recipient]] = {}
    for recipient in rows:
        by_variant.setdefault(recipient.variant, []).append(recipient)
    batch = Batch(token, [r for group in by_variant.values() for r in group])
    rate, heartbeat = limiter(), Heartbeat(token, dispatch.pk)

    def pace() -> None:
        heartbeat.beat()
        rate.wait(while_waiting=heartbeat.beat)

    # Rows never tried go back without counting an attempt: now, or after a pause for
    # the mail server to come back when the connection failed.
    unsent_due = timezone.now()
    try:
        for variant, recipients in by_variant.items():
            # The group's outcomes go straight into the batch's own list.
            group = Batch(token, recipients, batch.outcomes)
            send_batch(issue_message(dispatch, variant), group, pace)
    except ConnectionFailed as failure:
        if failure.permanent:
            pause(dispatch, f"Paused: the mail server refused the connection ({failure}).")
        unsent_due += timedelta(seconds=settings.SEND_RETRY_BASE_SECONDS)
    finally:
        # What was sent is held here until the ledger has it, database restart or not.
        persistently(
            lambda: record(
                dispatch,
                batch,
                unsent_due,
                message_id_suffix(token, domain_of(dispatch.issue.newsletter.from_email)),
            ),
            what=f"recording {len(batch.outcomes)} outcomes",
        )
    persistently(lambda: after_batch(dispatch), what="updating the dispatch")
    return len(rows)


def record(dispatch: Dispatch, batch: Batch, unsent_due: datetime, suffix: str) -> None:
    """Write a batch's outcomes; publish the issue with its first sent message (readers
    who got it can view it in their browser at once); and if the dispatch was cancelled
    while this batch was in flight, cancel what came back to wait (retries, untried rows)."""
    with transaction.atomic():
        mark(batch.token, batch.outcomes, batch.untried(), unsent_due, suffix)
        if any(outcome.status == Status.SENT for outcome in batch.outcomes):
            publish(dispatch.issue_id)
        if Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.CANCELLED).exists():
            cancel_unsent_rows(dispatch.pk)


def after_batch(dispatch: Dispatch) -> None:
    Dispatch.objects.filter(pk=dispatch.pk).update(heartbeat_at=timezone.now())
    pause_if_failing(dispatch)


def claim(dispatch: Dispatch) -> tuple[str, list[Recipient]]:
    """Return the dispatch's rows a dead worker left (lease expired), then claim a batch."""
    sweep_expired_claims(dispatch_id=dispatch.pk)
    return claim_batch(dispatch.pk, settings.SEND_BATCH_SIZE)


def pause_if_failing(dispatch: Dispatch) -> bool:
    """Pause when too many of the last N finished messages failed: a broken ESP key or a
    blocked sender must not burn through the whole list. Retries are not finished messages.

    Counted in the database after every batch; the errors are read only to say why it
    paused."""
    window = settings.SEND_AUTOPAUSE_WINDOW
    finished = dispatch.deliveries.filter(finished_at__isnull=False).order_by("-finished_at")
    recent = finished.values_list("status", "last_error")[:window]
    counts = recent.aggregate(
        finished=Count("status"), failed=Count("status", filter=Q(status=Status.FAILED))
    )
    if (
        counts["finished"] < window
        or counts["failed"] / window < settings.SEND_AUTOPAUSE_FAILURE_RATE
    ):
        return False
    errors = Counter(error for status, error in recent if status == Status.FAILED)
    common = errors.most_common(1)[0][0] if errors else ""
    reason = (
        f"Paused automatically: {counts['failed']} of the last {window} messages failed. "
        f"Most common error: {common}"
    )
    return pause(dispatch, reason)


def current(dispatch_id: int) -> Dispatch:
    return Dispatch.objects.select_related("issue__newsletter", "snapshot").get(pk=dispatch_id)


def run_sender(dispatch_id: int, budget_seconds: float = SENDER_BUDGET_SECONDS) -> float | None:
    """A sender task's loop: batches until nothing is due or the budget is spent.

    Returns how many seconds until this task should run again, or None when it is done
    (dispatch finished, paused or cancelled).
    """
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        dispatch = persistently(lambda: current(dispatch_id), what="reading the dispatch")
        if dispatch.status != Dispatch.Status.SENDING:
            # Paused while its last batch was in flight: nothing is left to resume.
            if dispatch.status == Dispatch.Status.PAUSED:
                persistently(partial(finish_if_complete, dispatch), what="finishing the dispatch")
            return None
        if not send_next_batch(dispatch):
            break
    else:
        return 0.0
    return persistently(lambda: finish_or_next_due(dispatch), what="finishing the dispatch")


def finish_or_next_due(dispatch: Dispatch) -> float | None:
    """None when the dispatch is finished (or others finish it); else seconds until the
    next retry is due."""
    if finish_if_complete(dispatch):
        return None
    next_due = (
        dispatch.deliveries.filter(status=Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_due is None:
        return None  # the rest is in flight in other tasks; they finish the dispatch
    return min(max((next_due - timezone.now()).total_seconds(), 0.5), 60.0)
