"""What editors read: the live progress of a dispatch and the per-issue delivery report."""

from collections import Counter
from datetime import timedelta
from typing import TypedDict

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from ..delivery.subject_tests import SubjectTestProgress, test_progress
from ..models import Delivery, DeliveryTally, Dispatch, Issue
from .sent import by_status, status_counts

Status = Delivery.Status
RATE_WINDOW_SECONDS = 60
STALE = timedelta(seconds=10)  # no batch marked for this long: the rate falls


class Progress(TypedDict):
    """The progress JSON (``…/progress/``) that the admin's progress bar and scripts poll."""

    dispatch: int
    status: str
    status_label: str
    reason: str  # why it paused, in words
    planned: int
    sent: int
    failed: int
    pending: int  # waiting or in flight
    cancelled: int
    held: int  # the rest of the list of a subject test, waiting for the winner
    rate_per_second: float
    eta_seconds: int | None
    started_at: str | None  # ISO 8601
    finished_at: str | None
    duration_seconds: float | None  # once done
    average_rate_per_second: float | None  # once done
    done: bool
    subject_test: SubjectTestProgress | None


class DeliveryFigures(TypedDict):
    """An issue's delivery figures, from its ledger or from the tally retention keeps."""

    counts: dict[str, int]  # by status label: Pending, Sent, Failed, ...
    failures: list[tuple[str, int]]  # (reason, deliveries), the commonest first
    events: dict[str, int]  # ESP event → deliveries
    bounced_subscribers: int
    complained_subscribers: int


class DeliveryReport(DeliveryFigures):
    """The per-issue delivery report page's figures."""

    subject_test: SubjectTestProgress | None


def progress(dispatch: Dispatch) -> Progress:
    """The figures the admin's progress bar polls.

    While sending: the rate over the last minute (from the first message sent in it) and
    the time left at that rate. Once done: start, end, duration and the average rate.
    """
    tally = DeliveryTally.objects.filter(issue_id=dispatch.issue_id).first()
    if tally:  # retention rolled the rows up
        counts = tally.counts(dispatch.pk)
    elif dispatch.status == Dispatch.Status.PLANNING:  # no planned count yet
        counts = by_status(dispatch.deliveries.all())
    else:
        rows = Delivery.objects.filter(issue_id=dispatch.issue_id, dispatch=dispatch)
        counts = status_counts(rows, dispatch.planned_count)
    now = timezone.now()
    sent = counts.get(Status.SENT, 0)
    pending = counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0)
    done = dispatch.status in {Dispatch.Status.DONE, Dispatch.Status.CANCELLED}
    figures: Progress = {
        "dispatch": dispatch.pk,
        "status": dispatch.status,
        "status_label": dispatch.get_status_display(),
        "reason": dispatch.pause_reason,
        "planned": dispatch.planned_count or sum(counts.values()),
        "sent": sent,
        "failed": counts.get(Status.FAILED, 0),
        "pending": pending,
        "cancelled": counts.get(Status.CANCELLED, 0),
        # The rest of the list of a subject test, waiting for the winner.
        "held": counts.get(Status.HELD, 0),
        "rate_per_second": 0.0,
        "eta_seconds": None,
        "started_at": dispatch.started_at.isoformat() if dispatch.started_at else None,
        "finished_at": dispatch.finished_at.isoformat() if dispatch.finished_at else None,
        "duration_seconds": None,
        "average_rate_per_second": None,
        "done": done,
        "subject_test": test_progress(dispatch),
    }
    if done and dispatch.started_at and dispatch.finished_at:
        duration = max((dispatch.finished_at - dispatch.started_at).total_seconds(), 0.001)
        figures["duration_seconds"] = round(duration, 1)
        average = round(sent / duration, 1)
        figures["average_rate_per_second"] = figures["rate_per_second"] = average
    elif dispatch.status == Dispatch.Status.SENDING and dispatch.started_at:
        since = now - timedelta(seconds=RATE_WINDOW_SECONDS)
        recent = dispatch.deliveries.filter(status=Status.SENT, finished_at__gte=since)
        window = recent.aggregate(n=Count("id"), first=Min("finished_at"), last=Max("finished_at"))
        rate = 0.0
        if window["n"]:
            # Batches are marked at once when they end, so the rate is measured from mark to
            # mark: the first batch marked in the window was sent before it and marks its
            # start. Once nothing has been marked for a while, the time since counts too.
            in_first = recent.filter(finished_at=window["first"]).count()
            end = window["last"] if now - window["last"] < STALE else now
            elapsed = (end - window["first"]).total_seconds()
            rate = (window["n"] - in_first) / elapsed if elapsed >= 0.5 else 0.0
        figures["rate_per_second"] = round(rate, 1)
        figures["eta_seconds"] = round(pending / rate) if rate else None
    return figures


def report(issue: Issue) -> DeliveryReport:
    """The per-issue delivery report: counts, failures by reason, bounces and complaints,
    and the subject test; from the ledger, or from its tally once retention rolled it up."""
    tally = DeliveryTally.objects.filter(issue=issue).first()
    figures = tally_report(tally) if tally else ledger_report(issue)
    subject_test = next(
        (test_progress(d) for d in issue.dispatches.filter(subject_test__isnull=False)[:1]),
        None,
    )
    return {**figures, "subject_test": subject_test}


def issue_status_counts(issue: Issue) -> dict[str, int]:
    """``status_counts`` of every row of the issue; counted row by row while one of its
    dispatches is still planning (it has no planned count yet)."""
    rows = Delivery.objects.filter(issue=issue)
    dispatches = issue.dispatches.values_list("status", "planned_count")
    if any(status == Dispatch.Status.PLANNING for status, _ in dispatches):
        return by_status(rows)
    return status_counts(rows, sum(planned for _, planned in dispatches))


def ledger_report(issue: Issue) -> DeliveryFigures:
    """The report's delivery figures, from the ledger's rows (the few that did not plainly
    go out, and those an ESP reported on, each through a partial index of its own)."""
    deliveries = Delivery.objects.filter(issue=issue)
    counts = issue_status_counts(issue)
    failed = deliveries.filter(status=Status.FAILED)
    reasons: Counter[str] = Counter()
    for part in (failed.filter(bounced_at__isnull=True), failed.filter(bounced_at__isnull=False)):
        reasons.update(dict(part.values_list("last_error").annotate(n=Count("id")).order_by()))

    events = dict(
        deliveries.exclude(esp_event="").values_list("esp_event").annotate(n=Count("id")).order_by()
    )
    outcomes = esp_outcomes(deliveries)
    return {
        "counts": {status.label: counts.get(status.value, 0) for status in Status},
        "failures": [(error or "(no reason)", n) for error, n in reasons.most_common(50)],
        "events": events,
        # This issue's messages that bounced or drew a complaint: not its readers who are
        # suppressed now, whichever issue's message did it.
        "bounced_subscribers": outcomes["bounced"],
        "complained_subscribers": outcomes["complained"],
    }


ESP_OUTCOMES = ("delivered", "bounced", "complained")


def esp_outcomes(rows: QuerySet[Delivery]) -> dict[str, int]:
    """How many of ``rows`` an ESP reported delivered, bounced, complained about.

    Each outcome has a partial index of the rows it marked: these are read (one bitmap over
    the three), where one pass over the issue's rows read a million.
    """
    marked = Q()
    for outcome in ESP_OUTCOMES:
        marked |= Q(**{f"{outcome}_at__isnull": False})
    counts: dict[str, int] = rows.filter(marked).aggregate(
        **{
            outcome: Count("id", filter=Q(**{f"{outcome}_at__isnull": False}))
            for outcome in ESP_OUTCOMES
        }
    )
    return counts


def tally_report(tally: DeliveryTally) -> DeliveryFigures:
    """The report of an issue whose ledger retention rolled up: the same figures, kept."""
    counts = tally.counts()
    return {
        "counts": {status.label: counts.get(status.value, 0) for status in Status},
        "failures": [(reason, n) for reason, n in tally.failures],
        "events": tally.events,
        "bounced_subscribers": tally.bounced_subscribers,
        "complained_subscribers": tally.complained_subscribers,
    }
