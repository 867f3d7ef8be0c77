"""Planning welcome emails: which readers each step came due for, written in one statement.

Beat calls ``plan_due_steps``. For each step of each running sequence, one INSERT … SELECT
(in keyset chunks, as an issue's planning) copies the readers whose confirmation plus the
step's delay has passed into the step's dispatch, with ON CONFLICT DO NOTHING on (email,
subscriber): a reader is planned once per step whatever the number of beats, workers or
restarts. No task per subscriber: 100,000 readers confirmed on one day are a few statements.

A step goes to a reader only once the previous step was sent to them, so the emails arrive
in order; a step more than ``WELCOME_STEP_LATE_LIMIT_SECONDS`` late is skipped rather than
sent weeks after the reader joined. Each step keeps a watermark (``planned_through``): the
confirmations before it are settled, so a beat reads only the readers who came due since
(and a few minutes of overlap), not everyone who ever joined.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from subscribers import services as audience

from ..delivery.lifecycle import transition
from ..delivery.planning import insert_in_chunks
from ..delivery.queue import enqueue_senders
from ..models import Delivery, Dispatch, SequenceStep, WelcomeSequence
from .steps import standing_dispatch

Status = Delivery.Status


def plan_due_steps(now: datetime | None = None) -> dict[int, int]:
    """Plan every running sequence; {step id: rows planned now}."""
    now = now or timezone.now()
    planned = {}
    for sequence_id in WelcomeSequence.objects.filter(is_paused=False).values_list("pk", flat=True):
        planned.update(plan_sequence(sequence_id, now))
    return planned


def plan_sequence(sequence_id: int, now: datetime | None = None) -> dict[int, int]:
    """Plan one sequence's due steps under its row lock, so a pause cannot slip between
    reading "running" and reopening a step's dispatch."""
    now = now or timezone.now()
    planned = {}
    with transaction.atomic():
        sequence = (
            WelcomeSequence.objects.select_for_update()
            .filter(pk=sequence_id, is_paused=False)
            .first()
        )
        if sequence is None:
            return planned
        previous = None
        for step in sequence.steps.select_related("issue", "dispatch"):
            if step.issue.blocks.exists():
                planned[step.pk] = plan_step(sequence, step, previous, now)
            previous = step
    return planned


def plan_step(
    sequence: WelcomeSequence, step: SequenceStep, previous: SequenceStep | None, now: datetime
) -> int:
    """Write this step's due rows; reopen its dispatch and start senders if any are new."""
    dispatch = standing_dispatch(step)
    drop_readers_who_left(dispatch, sequence.newsletter_id)
    confirmed_until = now - step.delay
    confirmed_after = window_start(sequence, step, confirmed_until)
    if confirmed_after > confirmed_until:
        return 0
    readers = audience.confirmed_between(sequence.newsletter_id, confirmed_after, confirmed_until)
    if previous is not None:
        received_previous = Delivery.objects.filter(
            subscriber=OuterRef("pk"), issue_id=previous.issue_id, status=Status.SENT
        )
        readers = readers.filter(Exists(received_previous))
    inserted = insert_in_chunks(dispatch, readers, now)
    settled = settled_through(sequence, previous, confirmed_until)
    SequenceStep.objects.filter(pk=step.pk).update(planned_through=settled)
    step.planned_through = settled
    if inserted:
        # Reports count a dispatch's plainly sent rows as planned less the rest.
        Dispatch.objects.filter(pk=dispatch.pk).update(planned_count=F("planned_count") + inserted)
        sources = {Dispatch.Status.DONE, Dispatch.Status.SENDING}
        transition(dispatch, sources, Dispatch.Status.SENDING, finished_at=None)
        transaction.on_commit(lambda: enqueue_senders(dispatch.pk))
    return inserted


def window_start(sequence: WelcomeSequence, step: SequenceStep, confirmed_until) -> datetime:
    """The earliest confirmation this beat reads for the step.

    Readers of the sequence, whose moment for this step came after the step was added, not
    longer ago than the late limit, and not settled by an earlier beat. The overlap re-reads
    the last minutes: a confirmation whose transaction committed after a beat had already
    read past its time is still found (ON CONFLICT makes reading twice harmless).
    """
    late_limit = timedelta(seconds=settings.WELCOME_STEP_LATE_LIMIT_SECONDS)
    candidates = [sequence.starts_at, step.created_at - step.delay, confirmed_until - late_limit]
    if step.planned_through:
        overlap = timedelta(seconds=settings.WELCOME_PLAN_OVERLAP_SECONDS)
        candidates.append(step.planned_through - overlap)
    return max(candidates)


def settled_through(sequence: WelcomeSequence, previous: SequenceStep | None, confirmed_until):
    """Up to when every reader is settled for a step: all of them, unless some still wait
    for the previous step (they come due for this one once it is sent to them)."""
    if previous is None:
        return confirmed_until
    unfinished = [Status.PENDING, Status.HELD, Status.SENDING]
    waiting = Delivery.objects.filter(issue_id=previous.issue_id, status__in=unfinished)
    first_waiting = waiting.aggregate(
        first=Min(
            "subscriber__subscriptions__confirmed_at",
            filter=Q(subscriber__subscriptions__newsletter_id=sequence.newsletter_id),
        )
    )["first"]
    bounds = [confirmed_until, previous.planned_through or sequence.starts_at]
    if first_waiting is not None:
        bounds.append(first_waiting - timedelta(microseconds=1))
    return min(bounds)


def drop_readers_who_left(dispatch: Dispatch, newsletter_id: int) -> int:
    """Cancel rows still waiting (a paused sequence holds them) for readers who left or were
    suppressed since: unsubscribing stops every later email."""
    return (
        dispatch.deliveries.filter(status=Status.PENDING)
        .exclude(subscriber__in=audience.recipients(newsletter_id).values("pk"))
        .update(status=Status.CANCELLED, last_error="The reader left before this email went out.")
    )
