"""The engagement conditions of the audience's segments, answered from the click records.

``subscribers`` never imports this app; ``issues.apps`` registers ``PROVIDER`` with
``subscribers.segments`` when Django starts, so a segment can ask "who clicked in the last
N issues" without knowing where clicks live.
"""

from django.db.models import QuerySet

from subscribers.segments import EngagementProvider

from ..models import Click, Issue, Newsletter


def clicked(newsletter_id: int, last_issues: int | None) -> QuerySet:
    """Ids of subscribers who clicked in the last ``last_issues`` sent issues (None: any)."""
    return subscribers_who_clicked(Newsletter(pk=newsletter_id), last_issues)


def unavailable(newsletter_id: int) -> str:
    """Why clicks cannot say who for this newsletter ("" when they can)."""
    newsletter = Newsletter.objects.filter(pk=newsletter_id).first()
    if newsletter is None:
        return "There is no such newsletter."
    if not newsletter.subscriber_history:
        return (
            f"“{newsletter}” does not keep per-subscriber click history, so nobody's clicks "
            "are known: turn on “subscriber history” in the newsletter's settings first "
            "(clicks count from then on)."
        )
    return ""


PROVIDER = EngagementProvider(clicked=clicked, unavailable=unavailable)


def subscribers_who_clicked(newsletter: Newsletter, last_issues: int) -> QuerySet:
    """Ids of subscribers with a person's click in the newsletter's last sent issues.

    Only knowable where the newsletter keeps per-subscriber history: elsewhere clicks name
    no one, and this is empty.
    """
    issues = (
        Issue.objects.filter(newsletter=newsletter, status=Issue.Status.SENT)
        .order_by("-published_at", "-number")
        .values("pk")[:last_issues]
    )
    return (
        Click.objects.filter(issue__in=issues, is_machine=False, subscriber__isnull=False)
        .values_list("subscriber_id", flat=True)
        .distinct()
    )
