"""Planning: one pending Delivery per recipient, written inside the database.

Recipients are copied in chunks of subscriber ids by INSERT … SELECT (no subscriber passes through
Python memory), with ON CONFLICT DO NOTHING on (issue, subscriber): a retried task, a second
click or a later dispatch of the same issue never plans anyone twice.

A reader whose row of an earlier dispatch never reached them (cancelled, or failed before it
left) did not get the issue: a later dispatch ("Send to the rest…") takes that row over
(``take_over_unsent``), so everyone who did not get it can still get it, once.
"""

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from subscribers import segments
from subscribers.models import Segment, Subscriber, Tag
from superfast.estimates import refresh_statistics

from ..models import Delivery, Dispatch, Issue
from .lifecycle import finish_if_complete, transition
from .subject_tests import split_test_group

PLAN_CHUNK = 10_000

Status = Delivery.Status
# Rows of readers who did not get the issue and no send is waiting for: cancelled, or
# failed before the message left (a bounce reported later means it had left).
UNSENT_FOR_GOOD = Q(status__in=[Status.CANCELLED, Status.FAILED], bounced_at__isnull=True)


def recipients(
    issue: Issue,
    *,
    segment: Segment | None = None,
    tag: Tag | None = None,
    ids: range | None = None,
) -> QuerySet[Subscriber]:
    """Everyone who may receive the issue, or only a segment or tag of them (and with
    ``ids``, those of them in that range of subscriber ids).

    Raises ValidationError when the segment cannot be evaluated for this issue's newsletter.
    """
    return segments.audience(issue.newsletter_id, segment=segment, tag=tag, ids=ids)


def recipient_count(issue: Issue, *, segment: Segment | None = None, tag: Tag | None = None) -> int:
    """How many would receive the issue if it were sent now (the confirmation page's figure).

    Those who already received it (from an earlier send to part of the list) are left out:
    the ledger would skip them. Those an earlier send did not reach (cancelled, failed) are
    counted: a new send takes their rows over.
    """
    already = Delivery.objects.filter(issue=issue).exclude(UNSENT_FOR_GOOD).values("subscriber_id")
    chosen = recipients(issue, segment=segment, tag=tag)
    return chosen.exclude(id__in=already).count()


def plan_dispatch(dispatch: Dispatch) -> int:
    """Write a pending Delivery for every recipient not yet planned for this issue.

    A segment is resolved now, not when the send was confirmed or scheduled: like the whole
    list, it goes to who is in it when it goes out. A segment that can no longer be evaluated
    (its engagement data was turned off) holds the dispatch for an editor instead of failing.
    """
    if dispatch.status != Dispatch.Status.PLANNING:
        return dispatch.planned_count
    now = timezone.now()
    audience = partial(recipients, dispatch.issue, segment=dispatch.segment, tag=dispatch.tag)
    try:
        chosen = audience()
    except ValidationError as error:
        reason = " ".join(error.messages)
        transition(
            dispatch,
            {Dispatch.Status.PLANNING},
            Dispatch.Status.HELD,
            pause_reason=f"The {dispatch.audience_label} cannot be used: {reason}",
        )
        return 0
    if insert_in_chunks(dispatch, chosen, now, chunk=lambda ids: audience(ids=ids)) >= PLAN_CHUNK:
        refresh_statistics(Delivery)  # the senders' claims are planned on what was added
    split_test_group(dispatch)
    planned = dispatch.deliveries.count()
    transition(
        dispatch,
        {Dispatch.Status.PLANNING},
        Dispatch.Status.SENDING,
        planned_count=planned,
        started_at=timezone.now(),
    )
    if not planned:
        finish_if_complete(dispatch)
    return planned


def insert_in_chunks(
    dispatch: Dispatch,
    subscribers: QuerySet[Subscriber],
    now: datetime | None = None,
    *,
    chunk: Callable[[range], QuerySet[Subscriber]] | None = None,
) -> int:
    """Plan every subscriber of the queryset, ``PLAN_CHUNK`` subscriber ids at a time;
    returns how many rows were new. ``chunk(ids)`` gives the same people within a range of
    ids, bounding each of its tables (see ``selectors.recipients``); by default the range
    filters the queryset's subscribers.

    Chunks are ranges of ids between the queryset's first and last, not runs of N
    recipients: finding where the next N end costs a scan of every recipient left, and
    that at each chunk made a million-reader plan quadratic.
    """
    now = now or timezone.now()
    ids = subscribers.order_by("id").values_list("id", flat=True)
    first, last = ids.first(), ids.last()
    if first is None or last is None:
        return 0
    if chunk is None:

        def chunk(ids: range) -> QuerySet[Subscriber]:
            return subscribers.filter(id__gte=ids.start, id__lt=ids.stop)

    taking_over = unsent_rows_of_others(dispatch).exists()
    inserted = 0
    for start in range(first, last + 1, PLAN_CHUNK):
        readers = chunk(range(start, start + PLAN_CHUNK))
        if taking_over:
            inserted += take_over_unsent(dispatch, readers, now)
        inserted += insert_deliveries(dispatch, readers, now)
    return inserted


def unsent_rows_of_others(dispatch: Dispatch) -> QuerySet[Delivery]:
    """The issue's rows that earlier dispatches did not get to their readers."""
    rows = Delivery.objects.filter(UNSENT_FOR_GOOD, issue_id=dispatch.issue_id)
    return rows.exclude(dispatch_id=dispatch.pk)


def take_over_unsent(dispatch: Dispatch, subscribers: QuerySet[Subscriber], now: datetime) -> int:
    """The rows of these readers that earlier dispatches cancelled or failed become this
    dispatch's pending rows; returns how many. Each earlier dispatch's planned count drops
    by the rows it gave up, so every dispatch's figures stay those of its own rows."""
    rows = unsent_rows_of_others(dispatch).filter(subscriber_id__in=subscribers.values("id"))
    with transaction.atomic():
        given_up = dict(rows.values_list("dispatch_id").annotate(n=Count("id")).order_by())
        if not given_up:
            return 0
        ids = list(rows.values_list("id", flat=True))
        Delivery.objects.filter(id__in=ids).update(
            dispatch=dispatch,
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            claim_token="",
            lease_expires_at=None,
            last_error="",
            message_id="",
            variant=None,
            finished_at=None,
        )
        for earlier, n in given_up.items():
            Dispatch.objects.filter(pk=earlier).update(planned_count=F("planned_count") - n)
    return len(ids)


def insert_deliveries(dispatch: Dispatch, subscribers: QuerySet[Subscriber], now: datetime) -> int:
    """One pending row per subscriber of the queryset, skipping those already planned;
    returns how many rows were new."""
    select, params = subscribers.order_by().values_list("id").query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = "dispatch_id, issue_id, subscriber_id, status, attempts, next_attempt_at, "
    columns += "claim_token, last_error, message_id, esp_event"
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT %s, %s, r.id, %s, 0, %s, '', '', '', '' "
        f"FROM ({select}) AS r WHERE true ON CONFLICT (issue_id, subscriber_id) DO NOTHING"
    )
    due = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [dispatch.pk, dispatch.issue_id, Delivery.Status.PENDING, due, *params])
        return int(cursor.rowcount)
