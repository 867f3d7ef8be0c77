"""The figures every engagement report is built on: plain functions, frozen results.

People and machines are counted apart (``Click.is_machine``); "unique" counts distinct
readers by their per-issue pseudonym, so no figure here needs to know who anyone is. A
click or open made after the issue's reader salt was deleted (``LATE_READER``) counts in
the totals, never as one more unique reader: the unique counts were final by then.
Only ``subscribers_who_clicked`` names subscribers, and only where a newsletter keeps
per-subscriber history.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from ..engagement.attribution import unsubscribed_because_of
from ..engagement.variants import measures_opens
from ..models import (
    KNOWN_READER,
    Click,
    Delivery,
    DeliveryTally,
    Issue,
    MachineReason,
    Open,
    TrackedLink,
)
from .delivery import esp_outcomes
from .sent import sent_per_issue

Status = Delivery.Status

# What every page showing open figures says beside them.


@dataclass(frozen=True)
class LinkFigures:
    link_id: int
    position: int
    url: str
    label: str
    clicks: int  # people's clicks, repeats included
    unique: int  # distinct readers among them
    machine_clicks: int


@dataclass(frozen=True)
class IssueEngagement:
    issue_id: int
    sent: int
    delivered: int
    bounced: int
    complained: int
    outcomes_reported: bool  # False: plain SMTP, which never reports deliveries back
    unsubscribed: int
    human_clicks: int
    unique_clickers: int
    machine_clicks: int
    esp_reported_clicks: int  # the ESP's clicks without a user agent: nobody can tell
    click_rate: float  # unique clickers / sent
    opens_estimated: int | None  # once per reader; None: nothing measures opens
    unique_openers_estimated: int | None
    links: list[LinkFigures]  # most readers first; a URL placed twice is two links
    readers_by_url: dict[str, int]  # distinct readers per URL, over all its placements


class DeliveryOutcomes(TypedDict):
    """What became of an issue's messages (kept in ``DeliveryTally.outcomes`` too)."""

    sent: int
    delivered: int
    bounced: int
    complained: int


def delivery_outcomes(issue: Issue, *, from_rows: bool = False) -> DeliveryOutcomes:
    """How many messages left, were delivered, bounced, drew a complaint: counted from the
    ledger, or kept in its tally once retention rolled the rows up."""
    tally = None if from_rows else DeliveryTally.objects.filter(issue=issue).first()
    if tally is not None:
        kept: DeliveryOutcomes = tally.outcomes
        return kept
    counts = esp_outcomes(Delivery.objects.filter(issue=issue))
    return {
        "sent": sent_per_issue([issue.pk], from_rows=True)[issue.pk],
        "delivered": counts["delivered"],
        "bounced": counts["bounced"],
        "complained": counts["complained"],
    }


def outcomes_reported(outcomes: DeliveryOutcomes) -> bool:
    """Whether delivered, bounced and complained mean anything: an ESP (anymail) reports
    them back; plain SMTP never does, so its zeros are "not reported", not failures."""
    reported = outcomes["delivered"] or outcomes["bounced"] or outcomes["complained"]
    return bool(reported) or settings.EMAIL_BACKEND.startswith("anymail.")


def issue_engagement(issue: Issue) -> IssueEngagement:
    """One issue's engagement, in a handful of aggregate queries whatever its size."""
    deliveries = delivery_outcomes(issue)
    per_link = clicks_per_link(issue)
    unique_clickers = readers_who_clicked(issue)
    opens_estimated = unique_openers = None
    if measures_opens(issue):
        # Per reader: a mail client loading the image thirty times is one open. Opens after
        # the reader salt went (``LATE_READER``) cannot be told apart and count each.
        opens = Open.objects.filter(issue=issue, is_machine=False)
        unique_openers = opens.filter(KNOWN_READER).values("reader").distinct().count()
        opens_estimated = unique_openers + opens.exclude(KNOWN_READER).count()
    sent = deliveries["sent"]
    return IssueEngagement(
        issue_id=issue.pk,
        sent=sent,
        delivered=deliveries["delivered"],
        bounced=deliveries["bounced"],
        complained=deliveries["complained"],
        outcomes_reported=outcomes_reported(deliveries),
        unsubscribed=unsubscribed_because_of(issue),
        human_clicks=sum(counts.human for counts in per_link.values()),
        unique_clickers=unique_clickers,
        machine_clicks=sum(counts.machine for counts in per_link.values()),
        esp_reported_clicks=sum(counts.unjudged for counts in per_link.values()),
        click_rate=unique_clickers / sent if sent else 0.0,
        opens_estimated=opens_estimated,
        unique_openers_estimated=unique_openers,
        links=link_figures(issue, per_link),
        readers_by_url=readers_per_url(issue),
    )


def people_clicks(issue: Issue) -> QuerySet[Click]:
    return Click.objects.filter(issue=issue, is_machine=False)


def readers_who_clicked(issue: Issue) -> int:
    """Distinct readers with at least one click of a person's: what link shares are of."""
    return people_clicks(issue).filter(KNOWN_READER).values("reader").distinct().count()


class LinkClicks(NamedTuple):
    human: int
    machine: int
    unjudged: int  # the ESP's, without a user agent to judge by


UNJUDGED = Q(machine_reason=MachineReason.UNJUDGED)
NO_CLICKS = LinkClicks(0, 0, 0)


def clicks_per_link(issue: Issue) -> dict[int | None, LinkClicks]:
    """``{link id: its clicks by people, by machines, and unjudged}``; None for ESP clicks
    on a URL the link table does not know."""
    rows = (
        Click.objects.filter(issue=issue)
        .values_list("link_id")
        .annotate(
            human=Count("id", filter=Q(is_machine=False)),
            machine=Count("id", filter=Q(is_machine=True) & ~UNJUDGED),
            unjudged=Count("id", filter=UNJUDGED),
        )
        .order_by()
    )
    return {link_id: LinkClicks(*counts) for link_id, *counts in rows}


def readers_per_link(issue: Issue) -> dict[int, int]:
    """``{link id: distinct readers who clicked it}``."""
    return distinct_readers_by(issue, "link_id")


def readers_per_url(issue: Issue) -> dict[str, int]:
    """``{URL: distinct readers who clicked any placement of it}``."""
    return distinct_readers_by(issue, "link__url")


def distinct_readers_by(issue: Issue, column: str) -> dict[Any, int]:
    """Distinct readers of people's clicks per ``column`` (a link or its URL).

    Counted over the distinct (column, reader) pairs in a derived table: databases hash
    those, where ``COUNT(DISTINCT reader)`` per group sorts every click (several times
    slower at a hundred thousand clicks). The ORM writes the inner query.
    """
    pairs = (
        people_clicks(issue)
        .filter(KNOWN_READER, link__isnull=False)
        .annotate(grouped=F(column))
        .values_list("grouped", "reader")
        .distinct()
    )
    inner, params = pairs.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT grouped, COUNT(*) FROM ({inner}) pairs GROUP BY grouped", params)
        return dict(cursor.fetchall())


def link_figures(
    issue: Issue, per_link: dict[int | None, LinkClicks] | None = None
) -> list[LinkFigures]:
    """Every link people could see (the canary is not one), the most readers first (then
    the most clicks): one reader clicking a link a hundred times is still one reader."""
    per_link = clicks_per_link(issue) if per_link is None else per_link
    readers = readers_per_link(issue)
    figures = [
        LinkFigures(
            link_id=pk,
            position=position,
            url=url,
            label=label,
            clicks=per_link.get(pk, NO_CLICKS).human,
            unique=readers.get(pk, 0),
            machine_clicks=per_link.get(pk, NO_CLICKS).machine,
        )
        for pk, position, url, label in TrackedLink.objects.filter(
            issue=issue, is_canary=False
        ).values_list("pk", "position", "url", "label")
    ]
    return sorted(figures, key=lambda link: (-link.unique, -link.clicks, link.position))
