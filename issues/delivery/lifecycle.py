"""The Dispatch state machine: start (now or scheduled), pause, resume, cancel, retry, finish.

scheduled ─┬─► planning ─► sending ⇄ paused ─► done
held ◄─────┘ (missed)                  any live state ─► cancelled
A dispatch moves only from the states it is expected to be in (one conditional UPDATE), so
two clicks, two workers or the sweeper racing each other cannot move it twice.
"""

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from subscribers.models import Segment, Tag

from ..compose.revisions import mark_sent_revision
from ..models import Delivery, DeliveryTally, Dispatch, Issue, Snapshot
from ..models.delivery import LIVE_DISPATCH, SENT_ROWS
from .queue import enqueue_plan, enqueue_senders
from .snapshot import freeze_snapshot
from .subject_tests import SubjectTestSetup, close_test, create_test

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = Delivery.Status

# Dispatches that may still send something: at most one per issue.
LIVE = LIVE_DISPATCH


class LedgerCompacted(Exception):
    """The issue's ledger was rolled up by retention: sending it again could mail everyone
    twice, since the rows that say who already has it are gone."""


def frozen_snapshot(issue: Issue) -> Snapshot:
    """The snapshot every recipient of this issue gets: rendered once, then never again.

    A snapshot already sent to someone stays as it is (later edits must not reach the rest
    of the list); otherwise the renderer freezes the issue now.
    """
    sent_before = Snapshot.objects.filter(issue=issue, dispatches__isnull=False).first()
    if sent_before:
        return sent_before
    mark_sent_revision(issue)
    return freeze_snapshot(issue)


def active_dispatch(issue: Issue) -> Dispatch | None:
    return issue.dispatches.filter(status__in=LIVE).first()


def start_dispatch(
    issue: Issue,
    *,
    user: "User | None" = None,
    when: datetime | None = None,
    segment: Segment | None = None,
    tag: Tag | None = None,
    subject_test: SubjectTestSetup | None = None,
) -> Dispatch:
    """Send ``issue`` now, or at ``when``. A second call while one is live returns that one.

    With ``segment`` or ``tag`` only part of the list receives it; a later dispatch to
    everyone reaches only the rest (the ledger holds one row per issue and subscriber). An
    issue already sent to part of the list stays sent (its public page stays up) while the
    rest goes out. With ``subject_test``, part of the audience gets each subject and the
    rest the winner.
    """
    if segment is not None and tag is not None:
        raise ValueError("A dispatch goes to a segment or a tag, not both.")
    if not issue.is_published_kind:
        raise ValueError("A welcome email is sent by its welcome sequence, not on its own.")
    with transaction.atomic():
        # The row's status, not the caller's copy: a copy loaded before the issue reached its
        # first readers would unpublish it.
        status_now = (
            Issue.objects.select_for_update().filter(pk=issue.pk).values_list("status", flat=True)
        ).first()
        existing = active_dispatch(issue)
        if existing:
            return existing
        if DeliveryTally.objects.filter(issue=issue).exists():
            raise LedgerCompacted(
                f"“{issue}” was sent long ago and its ledger is rolled up into counts: "
                "sending it again could reach every reader twice."
            )
        snapshot = frozen_snapshot(issue)
        now = timezone.now()
        scheduled = when is not None and when > now
        dispatch = Dispatch.objects.create(
            issue=issue,
            snapshot=snapshot,
            created_by=user,
            scheduled_for=when,
            status=Dispatch.Status.SCHEDULED if scheduled else Dispatch.Status.PLANNING,
            heartbeat_at=now,
            segment=segment,
            tag=tag,
        )
        if subject_test is not None:
            create_test(dispatch, subject_test)
        if status_now != Issue.Status.SENT:
            issue.status = Issue.Status.SCHEDULED if scheduled else Issue.Status.SENDING
            issue.save(update_fields=["status", "updated_at"])
        if not scheduled:
            transaction.on_commit(lambda: enqueue_plan(dispatch.pk))
    return dispatch


def start_due_dispatches(now: datetime | None = None) -> list[Dispatch]:
    """Start schedules that came due; hold those missed by more than the grace period.

    Beat calls this every sweep, so a schedule survives restarts of every process; one that
    passed while the system was down longer than the grace waits for an editor instead of
    going out hours late.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SEND_SCHEDULE_GRACE_SECONDS)
    started = []
    due = Dispatch.objects.filter(status=Dispatch.Status.SCHEDULED, scheduled_for__lte=now)
    for dispatch in due:
        due_at = dispatch.scheduled_for or now  # never None: the filter above compared it
        if now - due_at > grace:
            Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.SCHEDULED).update(
                status=Dispatch.Status.HELD,
                pause_reason=(
                    f"Was due at {dispatch.scheduled_for:%Y-%m-%d %H:%M} UTC, missed by more "
                    f"than the grace period; confirm to send it now."
                ),
            )
        elif transition(dispatch, {Dispatch.Status.SCHEDULED}, Dispatch.Status.PLANNING):
            enqueue_plan(dispatch.pk)
            started.append(dispatch)
    return started


def transition(dispatch: Dispatch, sources: Collection[str], target: str, **fields: object) -> bool:
    """Move a dispatch between states only from the expected ones; True if it moved."""
    moved = Dispatch.objects.filter(pk=dispatch.pk, status__in=sources).update(
        status=target, heartbeat_at=timezone.now(), **fields
    )
    if moved:
        dispatch.refresh_from_db()
    return bool(moved)


def pause(dispatch: Dispatch, reason: str = "Paused by an editor.") -> bool:
    """Stop claiming; rows already claimed finish their batch. A dispatch with nothing
    left to send (its last batch was in flight) is done rather than paused."""
    if not transition(
        dispatch, {Dispatch.Status.SENDING}, Dispatch.Status.PAUSED, pause_reason=reason
    ):
        return False
    finish_if_complete(dispatch)
    return True


def resume(dispatch: Dispatch) -> bool:
    """Send what is still pending (a held schedule starts from planning)."""
    if transition(dispatch, {Dispatch.Status.HELD}, Dispatch.Status.PLANNING, pause_reason=""):
        enqueue_plan(dispatch.pk)
        return True
    if transition(dispatch, {Dispatch.Status.PAUSED}, Dispatch.Status.SENDING, pause_reason=""):
        enqueue_senders(dispatch.pk)
        return True
    return False


def cancel(dispatch: Dispatch) -> bool:
    """Stop for good: rows not yet sent are marked cancelled, never sent.

    What already went out stays true: an issue that reached anyone stays published for
    them (and "Send to the rest…" offers it to the readers it did not reach), a subject
    test closes with its figures so far. An issue that reached nobody is a draft again.
    """
    with transaction.atomic():
        if not transition(dispatch, LIVE, Dispatch.Status.CANCELLED, finished_at=timezone.now()):
            return False
        cancel_unsent_rows(dispatch.pk)
        close_test(dispatch)
    settle_issue(dispatch.issue_id)
    return True


def cancel_unsent_rows(dispatch_id: int) -> int:
    """A cancelled dispatch's rows still waiting become cancelled. Also run after a batch
    in flight at the cancel is marked (its transient failures and untried rows came back
    ``pending``) and after its expired claims are returned, so no row of a cancelled
    dispatch waits for a send that will never come."""
    waiting = [Status.PENDING, Status.HELD]
    return Delivery.objects.filter(dispatch_id=dispatch_id, status__in=waiting).update(
        status=Status.CANCELLED, claim_token="", lease_expires_at=None
    )


def publish(issue_id: int) -> int:
    """The issue reached a reader: it is published (sent, with its date), once.

    Called when a batch with a sent message is marked, so "View in your browser" works for
    the first readers while a send (or a subject test's wait) goes on. A welcome email is
    never published. Costs one UPDATE that changes nothing after the first.
    """
    return (
        Issue.objects.filter(pk=issue_id, kind=Issue.Kind.ISSUE)
        .exclude(status=Issue.Status.SENT)
        .update(
            status=Issue.Status.SENT,
            published_at=Coalesce("published_at", Value(timezone.now())),
        )
    )


def settle_issue(issue_id: int) -> None:
    """After a dispatch ends: the issue is published exactly when someone got it. One that
    reached nobody and has no send left goes back to draft, to be sent again."""
    if Delivery.objects.filter(SENT_ROWS, issue_id=issue_id).exists():
        publish(issue_id)
        return
    if not Dispatch.objects.filter(issue_id=issue_id, status__in=LIVE).exists():
        Issue.objects.filter(
            pk=issue_id, status__in=[Issue.Status.SCHEDULED, Issue.Status.SENDING]
        ).update(status=Issue.Status.DRAFT)


def retry_failed(dispatch: Dispatch) -> int:
    """Queue the failed rows of this dispatch again, and only those. A cancelled dispatch
    sends nothing more: its failed readers are offered by "Send to the rest…" instead."""
    sources = {Dispatch.Status.DONE, Dispatch.Status.SENDING, Dispatch.Status.PAUSED}
    with transaction.atomic():
        if not Dispatch.objects.select_for_update().filter(pk=dispatch.pk, status__in=sources):
            return 0
        count = dispatch.deliveries.filter(status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), finished_at=None
        )
        if count:
            transition(
                dispatch, sources, Dispatch.Status.SENDING, finished_at=None, pause_reason=""
            )
            # A send that reached nobody left a draft: it is sending again.
            drafts = Issue.objects.filter(kind=Issue.Kind.ISSUE, status=Issue.Status.DRAFT)
            drafts.filter(pk=dispatch.issue_id).update(status=Issue.Status.SENDING)
    if count:
        enqueue_senders(dispatch.pk)
    return count


def finish_if_complete(dispatch: Dispatch) -> bool:
    """Mark the dispatch done once no row is pending or in flight (a paused one too: it has
    nothing left to resume), then settle the issue: published if anyone got it."""
    unfinished = [Status.PENDING, Status.HELD, Status.SENDING]
    if dispatch.deliveries.filter(status__in=unfinished).exists():
        return False
    now = timezone.now()
    sources = {Dispatch.Status.SENDING, Dispatch.Status.PAUSED}
    if transition(dispatch, sources, Dispatch.Status.DONE, finished_at=now):
        # A welcome email's dispatch is done until the next readers are due; the email
        # itself stays editable, never "sent" (``publish`` leaves it alone).
        settle_issue(dispatch.issue_id)
    return True


def sent_to_part_only(issue: Issue) -> bool:
    """Whether the sent issue went only to a segment or tag so far: the rest may follow."""
    if issue.status != Issue.Status.SENT:
        return False
    to_everyone = issue.dispatches.filter(segment__isnull=True, tag__isnull=True)
    return not to_everyone.exclude(status=Dispatch.Status.CANCELLED).exists()
