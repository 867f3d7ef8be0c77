"""The figures every engagement report is built on: plain functions, frozen results.

People and machines are counted apart (``Click.is_machine``); "unique" counts distinct
readers by their salted per-issue hash, so no figure here needs to know who anyone is.
Only ``subscribers_who_clicked`` names subscribers, and only where a newsletter keeps
per-subscriber history.
"""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from ..models import Click, Delivery, Issue, Newsletter, Open, TrackedLink

Status = Delivery.Status

# What every page showing open figures says beside them.
OPENS_ESTIMATE_REASON = (
    "Opens are estimates: Apple Mail Privacy Protection loads the images of every message "
    "for its users, read or not, and many readers' mail apps block images."
)


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
    unsubscribed: int
    human_clicks: int
    unique_clickers: int
    machine_clicks: int
    click_rate: float  # unique clickers / sent
    opens_estimated: int | None  # None: nothing measures opens for this issue
    unique_openers_estimated: int | None
    links: list[LinkFigures]  # most clicked first


@dataclass(frozen=True)
class VariantFigures:
    variant: int
    sent: int
    unique_clickers: int
    unique_openers_estimated: int | None


def sent_deliveries(issue: Issue) -> QuerySet:
    """Messages that left: sent, or sent and bounced later (the bounce marks them failed)."""
    return Delivery.objects.filter(issue=issue).filter(
        Q(status=Status.SENT) | Q(bounced_at__isnull=False)
    )


def measures_opens(issue: Issue) -> bool:
    return issue.newsletter.track_opens or Open.objects.filter(issue=issue).exists()


def issue_engagement(issue: Issue) -> IssueEngagement:
    """One issue's engagement, in a handful of aggregate queries whatever its size."""
    deliveries = sent_deliveries(issue).aggregate(
        sent=Count("id"),
        delivered=Count("id", filter=Q(delivered_at__isnull=False)),
        bounced=Count("id", filter=Q(bounced_at__isnull=False)),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
    )
    clicks = Click.objects.filter(issue=issue).aggregate(
        human=Count("id", filter=Q(is_machine=False)),
        unique=Count("reader", filter=Q(is_machine=False), distinct=True),
        machine=Count("id", filter=Q(is_machine=True)),
    )
    opens_estimated = unique_openers = None
    if measures_opens(issue):
        opens = Open.objects.filter(issue=issue, is_machine=False).aggregate(
            n=Count("id"), unique=Count("reader", distinct=True)
        )
        opens_estimated, unique_openers = opens["n"], opens["unique"]
    sent = deliveries["sent"]
    return IssueEngagement(
        issue_id=issue.pk,
        sent=sent,
        delivered=deliveries["delivered"],
        bounced=deliveries["bounced"],
        complained=deliveries["complained"],
        unsubscribed=0,  # attributed by the reports' campaign reference once it exists
        human_clicks=clicks["human"],
        unique_clickers=clicks["unique"],
        machine_clicks=clicks["machine"],
        click_rate=clicks["unique"] / sent if sent else 0.0,
        opens_estimated=opens_estimated,
        unique_openers_estimated=unique_openers,
        links=link_figures(issue),
    )


def link_figures(issue: Issue) -> list[LinkFigures]:
    """Every link people could see (the canary is not one), most clicked first."""
    links = (
        TrackedLink.objects.filter(issue=issue, is_canary=False)
        .annotate(
            human=Count("clicks", filter=Q(clicks__is_machine=False)),
            unique=Count("clicks__reader", filter=Q(clicks__is_machine=False), distinct=True),
            machine=Count("clicks", filter=Q(clicks__is_machine=True)),
        )
        .order_by("-human", "position")
    )
    return [
        LinkFigures(
            link_id=link.pk,
            position=link.position,
            url=link.url,
            label=link.label,
            clicks=link.human,
            unique=link.unique,
            machine_clicks=link.machine,
        )
        for link in links
    ]


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
        .annotate(n=Count("reader", distinct=True))
    )
    openers = None
    if measures_opens(issue):
        openers = dict(
            Open.objects.filter(issue=issue, is_machine=False, variant__isnull=False)
            .values_list("variant")
            .annotate(n=Count("reader", distinct=True))
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
