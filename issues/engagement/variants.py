"""What engagement a subject test decides on: each variant's sent rows, clickers and openers.

It sits in engagement, under delivery, because delivery decides a subject test's winner from
these figures; the reports show the same figures through ``issues.reports.engagement``.
"""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from ..models import KNOWN_READER, Click, Delivery, Issue, Open
from ..models.delivery import SENT_ROWS


@dataclass(frozen=True)
class VariantFigures:
    variant: int
    sent: int
    unique_clickers: int
    unique_openers_estimated: int | None


def sent_deliveries(issue: Issue) -> QuerySet[Delivery]:
    """The rows of messages that were sent (``issues.reports.sent`` says what that means):
    a subject test's variants are counted from their rows, the few of its test group."""
    return Delivery.objects.filter(issue=issue).filter(SENT_ROWS)


def measures_opens(issue: Issue) -> bool:
    return issue.newsletter.track_opens or Open.objects.filter(issue=issue).exists()


def variant_engagement(issue: Issue) -> dict[int, VariantFigures]:
    """Figures per A/B subject variant (deliveries without one are left out)."""
    sent = dict(
        sent_deliveries(issue)
        .filter(variant__isnull=False)
        .values_list("variant")
        .annotate(n=Count("id"))
    )
    clickers = dict(
        Click.objects.filter(issue=issue, is_machine=False, variant__isnull=False)
        .values_list("variant")
        .annotate(n=Count("reader", distinct=True, filter=KNOWN_READER))
    )
    openers = None
    if measures_opens(issue):
        openers = dict(
            Open.objects.filter(issue=issue, is_machine=False, variant__isnull=False)
            .values_list("variant")
            .annotate(n=Count("reader", distinct=True, filter=KNOWN_READER))
        )
    return {
        variant: VariantFigures(
            variant=variant,
            sent=n,
            unique_clickers=clickers.get(variant, 0),
            unique_openers_estimated=None if openers is None else openers.get(variant, 0),
        )
        for variant, n in sorted(sent.items())
    }
