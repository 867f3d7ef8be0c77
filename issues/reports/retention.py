"""Retention: an issue sent long ago keeps its counts, not one ledger row per recipient.

One row per recipient per issue is what makes a send exactly-once and its report exact, and
it grows without bound: a weekly issue to a million readers leaves 50 million rows a year.
Once an issue's last send finished ``DELIVERY_RETENTION_DAYS`` ago nothing will claim, retry
or resend those rows, so they are rolled up into one ``DeliveryTally`` (counts per dispatch
and status, ESP events, failure reasons) and deleted in chunks, each its own short
transaction. Reports (delivery and engagement) and progress pages read the tally from then
on. Who received the issue is gone with the rows, which is also what leaves erasure nothing
to find; and because the ledger that stops duplicates is gone, a compacted issue cannot be
sent again. Welcome emails are never compacted: their sequence keeps sending them.

A run stopped half-way is finished by the next: the tally is written, from all the rows,
before the first one is deleted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, QuerySet, Value, When
from django.utils import timezone

from ..models import Delivery, DeliveryTally, Dispatch, Issue
from ..models.delivery import LIVE_DISPATCH, SENT_ROWS, issues_whose_sends_ended_before
from .delivery import ledger_report
from .engagement import delivery_outcomes


@dataclass(frozen=True)
class Compacted:
    issue_id: int
    rows: int


def compactable_issues(
    now: datetime | None = None, retention_days: float | None = None
) -> QuerySet[Issue]:
    """Issues whose every send ended more than the retention period ago, with rows left."""
    days = settings.DELIVERY_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    rows = Delivery.objects.filter(issue=OuterRef("pk"))
    return (
        issues_whose_sends_ended_before(cutoff)
        .filter(Exists(rows), kind=Issue.Kind.ISSUE)  # a welcome email is sent for years
        .order_by("last_finished")
    )


def tally(issue: Issue) -> DeliveryTally:
    """The issue's tally, computed from all its rows the first time and kept after."""
    existing = DeliveryTally.objects.filter(issue=issue).first()
    if existing:
        return existing
    by_dispatch: dict[str, dict[str, int]] = {}
    # By status as ``sent.status_counts`` counts them: a message that bounced later left.
    left_or_status = Case(When(SENT_ROWS, then=Value(Delivery.Status.SENT)), default=F("status"))
    per_dispatch = (
        Delivery.objects.filter(issue=issue)
        .annotate(left_or_status=left_or_status)
        .values_list("dispatch", "left_or_status")
        .order_by()
    )
    for dispatch_id, status, n in per_dispatch.annotate(n=Count("id")):
        by_dispatch.setdefault(str(dispatch_id), {})[status] = n
    figures = ledger_report(issue)
    return DeliveryTally.objects.create(
        issue=issue,
        by_dispatch=by_dispatch,
        events=figures["events"],
        failures=[list(pair) for pair in figures["failures"]],
        bounced_subscribers=figures["bounced_subscribers"],
        complained_subscribers=figures["complained_subscribers"],
        outcomes=delivery_outcomes(issue, from_rows=True),
        rows=sum(sum(counts.values()) for counts in by_dispatch.values()),
    )


def compact_issue(issue: Issue, *, chunk: int | None = None) -> Compacted:
    """Roll the issue's ledger up into its tally, then delete the rows a chunk at a time."""
    chunk = chunk or settings.DELIVERY_RETENTION_CHUNK
    with transaction.atomic():
        # Under the issue's row lock, as starting a send takes it: none can begin meanwhile.
        Issue.objects.select_for_update().filter(pk=issue.pk).first()
        if Dispatch.objects.filter(issue=issue, status__in=LIVE_DISPATCH).exists():
            return Compacted(issue.pk, 0)
        kept = tally(issue)
    deleted = 0
    while True:
        ids = list(Delivery.objects.filter(issue=issue).values_list("pk", flat=True)[:chunk])
        if not ids:
            break
        deleted += Delivery.objects.filter(pk__in=ids).delete()[0]
    DeliveryTally.objects.filter(pk=kept.pk).update(completed_at=timezone.now())
    return Compacted(issue.pk, deleted)


def compact_old_deliveries(
    now: datetime | None = None, retention_days: float | None = None
) -> list[Compacted]:
    """Compact every issue past the retention period (beat runs this daily)."""
    days = settings.DELIVERY_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return []
    return [compact_issue(issue) for issue in compactable_issues(now, days)]
