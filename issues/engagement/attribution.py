"""Which issue a reader left because of: the campaign reference in its unsubscribe links.

Every unsubscribe link (and ``List-Unsubscribe`` header) of an issue's email carries the
issue's reference inside its signed token; the audience records it on the unsubscribe's
consent event without knowing what it names. Counting those events per reference gives
"unsubscribed because of this issue" in one aggregate query, with nothing per reader
kept on our side.
"""

from collections.abc import Iterable

from django.db.models import Count

from subscribers.models import ConsentEvent

from ..models import Issue

PREFIX = "issue:"


def campaign_of(issue: Issue) -> str:
    """The reference an issue's unsubscribe links carry (short: it is in every token)."""
    return f"{PREFIX}{issue.pk}"


def issue_of_campaign(campaign: str) -> Issue | None:
    """The issue a campaign reference names (None: not one of ours, or gone)."""
    number = campaign.removeprefix(PREFIX) if campaign.startswith(PREFIX) else ""
    if not (number.isascii() and number.isdigit() and len(number) < 19):
        return None
    return Issue.objects.select_related("newsletter").filter(pk=int(number)).first()


def unsubscribed_because_of(issue: Issue) -> int:
    """People who left the newsletter through a link in this issue's email."""
    return unsubscribed_by_issue([issue.pk]).get(issue.pk, 0)


def unsubscribed_by_issue(issue_ids: Iterable[int]) -> dict[int, int]:
    """``{issue id: unsubscribes through its links}`` for many issues in one query."""
    campaigns = {campaign_of(Issue(pk=pk)): pk for pk in issue_ids}
    rows = (
        ConsentEvent.objects.filter(
            action=ConsentEvent.Action.UNSUBSCRIBE, campaign__in=list(campaigns)
        )
        .values_list("campaign")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {campaigns[campaign]: n for campaign, n in rows}
