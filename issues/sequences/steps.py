"""Setting a welcome sequence up: its steps, their emails, pause and resume, their figures."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..delivery.lifecycle import pause, resume
from ..delivery.snapshot import freeze_snapshot
from ..models import (
    Delivery,
    Dispatch,
    Issue,
    LibraryBlock,
    Newsletter,
    SequenceStep,
    WelcomeSequence,
)

Status = Delivery.Status


def sequence_for(newsletter: Newsletter) -> WelcomeSequence:
    sequence, _ = WelcomeSequence.objects.get_or_create(newsletter=newsletter)
    return sequence


def newsletters_greeting_at_once(newsletter_ids: Iterable[int]) -> set[int]:
    """Of these newsletters, those whose running sequence sends its first email (written,
    not empty) as soon as a reader confirms: the site's generic welcome would repeat it."""
    greeting = set()
    sequences = WelcomeSequence.objects.filter(
        newsletter_id__in=list(newsletter_ids), is_paused=False, starts_at__lte=timezone.now()
    ).prefetch_related("steps__issue")
    for sequence in sequences:
        first = next(iter(sequence.steps.all()), None)
        if first and not first.delay and first.issue.blocks.exists():
            greeting.add(sequence.newsletter_id)
    return greeting


def add_step(
    sequence: WelcomeSequence, *, title: str, delay: timedelta, position: int | None = None
) -> SequenceStep:
    """A new step at the end (or at ``position``), with an empty welcome email to compose.

    A step whose email has no blocks yet is skipped by the planner, so readers never get a
    half-written one.
    """
    if position is None:
        position = (sequence.steps.count() or 0) + 1
    with transaction.atomic():
        issue = Issue.objects.create(
            newsletter=sequence.newsletter, kind=Issue.Kind.WELCOME, title=title
        )
        return SequenceStep.objects.create(
            sequence=sequence, position=position, delay=delay, issue=issue
        )


def standing_dispatch(step: SequenceStep) -> Dispatch:
    """The step's one dispatch, which every reader's row of this step belongs to.

    Created with the email frozen the first time the step is due; ``done`` whenever nothing
    is left to send, reopened by the planner when more readers come due.
    """
    if step.dispatch_id:
        return step.dispatch
    now = timezone.now()
    dispatch = Dispatch.objects.create(
        issue=step.issue,
        snapshot=freeze_snapshot(step.issue),
        status=Dispatch.Status.DONE,
        started_at=now,
        finished_at=now,
        heartbeat_at=now,
    )
    SequenceStep.objects.filter(pk=step.pk).update(dispatch=dispatch)
    step.dispatch = dispatch
    return dispatch


def remove_step(step: SequenceStep) -> None:
    """Delete a step: nothing more of it goes out. An email that never went out goes with
    it; one that did stays, with its rows, for the reports and the readers' data."""
    with transaction.atomic():
        dispatch, issue = step.dispatch, step.issue
        step.delete()
        if not issue.deliveries.exists():  # frozen perhaps, but due to nobody yet
            issue.dispatches.all().delete()
            issue.delete()
            return
        now = timezone.now()
        Dispatch.objects.filter(pk=dispatch.pk).update(
            status=Dispatch.Status.CANCELLED, finished_at=now, heartbeat_at=now
        )
        dispatch.deliveries.filter(status__in=[Status.PENDING, Status.HELD]).update(
            status=Status.CANCELLED, last_error="The welcome step was deleted."
        )


# Welcome emails whose next save reaches readers with no further step, as a send does: the
# sequence is running (the planner freezes the email as it stands for whoever comes due), or
# the email already went out (a save freezes it again for every reader not sent it yet).
LIVE_WELCOME_EMAILS = Q(kind=Issue.Kind.WELCOME) & (
    Q(sequence_step__sequence__is_paused=False) | Q(sequence_step__dispatch__isnull=False)
)


def is_live(issue: Issue) -> bool:
    """Whether ``issue`` is a live welcome email (``LIVE_WELCOME_EMAILS``)."""
    if issue.kind != Issue.Kind.WELCOME:
        return False
    return Issue.objects.filter(LIVE_WELCOME_EMAILS, pk=issue.pk).exists()


def shows_in_live_welcome_email(library_block: LibraryBlock) -> bool:
    """Whether a live welcome email places ``library_block``: editing it changes that email."""
    live = Issue.objects.filter(LIVE_WELCOME_EMAILS)
    return library_block.placements.filter(issue__in=live).exists()


def refreeze_step_email(issue: Issue) -> bool:
    """After an edit: freeze the welcome email again, so every reader not yet sent it gets
    the new version (rows already sent keep what they got). True if there was one to freeze.

    The snapshot row is updated in place with a new marker key, which is what senders key
    their serialized message on: the next batch is built from the new version.
    """
    if issue.kind != Issue.Kind.WELCOME:
        return False
    step = SequenceStep.objects.filter(issue=issue).first()
    if step is None or not step.dispatch_id:
        return False  # frozen the first time it is due
    freeze_snapshot(issue)
    return True


def pause_sequence(sequence: WelcomeSequence) -> bool:
    """Hold every step: nothing new is planned, and rows already planned wait."""
    with transaction.atomic():
        moved = WelcomeSequence.objects.filter(pk=sequence.pk, is_paused=False).update(
            is_paused=True
        )
        for dispatch in step_dispatches(sequence):
            pause(dispatch, "The welcome sequence is paused.")
    sequence.refresh_from_db()
    return bool(moved)


def resume_sequence(sequence: WelcomeSequence) -> bool:
    """Send what waited; the planner catches up on readers who came due meanwhile."""
    with transaction.atomic():
        moved = WelcomeSequence.objects.filter(pk=sequence.pk, is_paused=True).update(
            is_paused=False
        )
        held = [d for d in step_dispatches(sequence) if d.status == Dispatch.Status.PAUSED]
    for dispatch in held:
        resume(dispatch)
    sequence.refresh_from_db()
    return bool(moved)


def step_dispatches(sequence: WelcomeSequence) -> list[Dispatch]:
    # Locked in the order the planner locks them (the sequence first, then the dispatches).
    WelcomeSequence.objects.select_for_update().filter(pk=sequence.pk).first()
    return list(Dispatch.objects.filter(sequence_step__sequence=sequence))


@dataclass(frozen=True)
class StepCounts:
    due: int  # planned, not sent yet (waiting, in flight or held by a pause)
    sent: int
    failed: int


def step_counts(step: SequenceStep) -> StepCounts:
    """The step's figures, from one grouped count over its rows of the ledger."""
    counts = dict(
        Delivery.objects.filter(issue_id=step.issue_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return StepCounts(
        due=counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0),
        sent=counts.get(Status.SENT, 0),
        failed=counts.get(Status.FAILED, 0),
    )
