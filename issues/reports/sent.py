"""How many messages were sent: one definition for every figure that shows it.

A message was **sent** when it left for the reader's mail server: its ledger row is
``sent``, or an ESP reported it bounced later (the bounce marks the row ``failed``, yet the
message had left). A row waiting (pending, held, sending), failed before it left (refused
by the mail server, rejected by the ESP) or cancelled was not sent. The rows' side of this
definition is ``issues.models.delivery.SENT_ROWS`` and its complement ``NOT_SENT_ROWS``,
where the subject test, under the reports, counts its variants' rows.

Sent is counted as what the issue's dispatches planned less the rows not sent. The rows
that were sent are nearly all of them (a million at a million readers, most of them not yet
visible to an index-only scan right after a send); those not sent are few, and the partial
index ``delivery_not_left`` holds only them. So no figure here reads the rows that were
sent. A dispatch still planning has no planned count yet: its rows count on neither side.
An issue whose ledger retention rolled up reads the counts its tally kept.

The dashboard, the engagement report and the admin's banner on a sent issue show
``sent_per_issue``; the delivery report and the progress JSON show ``status_counts``, the
same rows by status. Both count a message that bounced later as sent (it left; its row says
``failed``): the bounce is an outcome after sending, shown beside, never a lower "sent".
"""

from collections import Counter
from collections.abc import Mapping

from django.db.models import Count, QuerySet, Sum

from ..models import Delivery, DeliveryTally, Dispatch
from ..models.delivery import NOT_SENT_ROWS

Status = Delivery.Status


def not_sent(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Of ``rows``, those not sent: the few that ``delivery_not_left`` holds."""
    return rows.filter(NOT_SENT_ROWS)


def sent(planned: int, not_sent_count: int) -> int:
    """Sent, from what was planned and how many rows were not sent."""
    return planned - not_sent_count


def sent_per_issue(ids: list[int], *, from_rows: bool = False) -> dict[int, int]:
    """Messages sent, per issue: one query for the plans, one for the rows not sent
    (grouped by issue), one for the tallies, however many issues (the dashboard's dozen).

    ``from_rows`` ignores the tallies: retention itself, writing one.
    """
    planned = dict(
        Dispatch.objects.filter(issue_id__in=ids)
        .values_list("issue_id")
        .annotate(n=Sum("planned_count"))
        .order_by()
    )
    unsent = dict(
        not_sent(Delivery.objects.filter(issue_id__in=ids))
        .exclude(dispatch__status=Dispatch.Status.PLANNING)
        .values_list("issue_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    tallied: dict[int, Mapping[str, int]] = (
        {}
        if from_rows
        else dict(
            DeliveryTally.objects.filter(issue_id__in=ids).values_list("issue_id", "outcomes")
        )
    )
    return {
        pk: tallied[pk].get("sent", 0)
        if pk in tallied
        else sent(planned.get(pk) or 0, unsent.get(pk, 0))
        for pk in ids
    }


def status_counts(rows: QuerySet[Delivery], planned: int) -> dict[str, int]:
    """``{status: n}`` of one issue's rows (or one dispatch's) from the rows not sent, each
    under its status; everything else was sent (``sent``), a later bounce included, so
    ``status_counts(...)["sent"]`` is ``sent_per_issue`` for the same rows."""
    unsent = by_status(not_sent(rows))
    counts = Counter(unsent)
    counts[Status.SENT] += max(sent(planned, sum(unsent.values())), 0)
    return dict(counts)


def by_status(rows: QuerySet[Delivery]) -> dict[str, int]:
    return dict(rows.values_list("status").annotate(n=Count("id")).order_by())
