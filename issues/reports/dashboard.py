"""A newsletter's dashboard figures: its audience week by week, its issues one by one.

Each figure is one aggregate query over the records other parts keep anyway (consent and
suppression events, dispatches, deliveries, clicks), grouped in the database, so the page
costs the same few queries for ten readers or a million; none reads every delivery row.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypedDict

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.safestring import SafeString

from subscribers.models import ConsentEvent, SuppressionEvent
from subscribers.selectors import recipients
from superfast.estimates import RowCount, row_count

from ..engagement.attribution import unsubscribed_by_issue
from ..models import KNOWN_READER, Click, Issue, Newsletter
from .charts import Series, bar_chart, line_chart, percent
from .sent import sent_per_issue

# Each of these means a person now receives the newsletter (after double opt-in, an
# import of people who agreed elsewhere, or a reader adding it on their preferences page).
JOINED = [
    ConsentEvent.Action.CONFIRM,
    ConsentEvent.Action.RESUBSCRIBE,
    ConsentEvent.Action.IMPORT,
    ConsentEvent.Action.PREFERENCES,
]
BOUNCED = [SuppressionEvent.Kind.BOUNCE, SuppressionEvent.Kind.SOFT_BOUNCES]


@dataclass(frozen=True)
class WeekFigures:
    week: date  # its Monday
    confirmed: int
    unsubscribed: int
    bounced: int


@dataclass(frozen=True)
class IssueRates:
    issue_id: int
    number: int
    title: str
    published_at: datetime | None
    sent: int
    unique_clickers: int
    unsubscribed: int

    @property
    def click_rate(self) -> float:
        return self.unique_clickers / self.sent if self.sent else 0.0

    @property
    def unsubscribe_rate(self) -> float:
        return self.unsubscribed / self.sent if self.sent else 0.0

    @property
    def click_rate_label(self) -> str:
        return percent(self.click_rate) if self.sent else NOT_SENT

    @property
    def unsubscribe_rate_label(self) -> str:
        return percent(self.unsubscribe_rate) if self.sent else NOT_SENT


NOT_SENT = "not sent to anyone"


@dataclass(frozen=True)
class Audience:
    """What the dashboard leads with: who gets the next issue, and how that moved."""

    # Confirmed, not suppressed, subscribed: the next issue's recipients. Counted as the issue
    # list counts a draft's audience (``row_count``): exactly when small, the planner's
    # estimate at a million (counting them took the page from 20 ms to over a second).
    active: RowCount
    change: int  # joined less left and bounced over the weeks shown
    weeks: int

    @property
    def change_label(self) -> str:
        return f"{self.change:+,d}" if self.change else "±0"


def audience(newsletter: Newsletter, weeks: list[WeekFigures]) -> Audience:
    joined = sum(w.confirmed for w in weeks)
    left = sum(w.unsubscribed + w.bounced for w in weeks)
    return Audience(row_count(recipients(newsletter.pk)), joined - left, len(weeks))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def subscriber_growth(
    newsletter: Newsletter, weeks: int = 12, today: date | None = None
) -> list[WeekFigures]:
    """The last ``weeks`` weeks, oldest first, the current one included (zeros included)."""
    today = today or timezone.localdate()
    mondays = [week_start(today) - timedelta(weeks=n) for n in reversed(range(weeks))]
    since = timezone.make_aware(datetime.combine(mondays[0], time.min))

    def per_week(
        queryset: QuerySet[ConsentEvent] | QuerySet[SuppressionEvent], **filters: object
    ) -> dict[date, int]:
        rows = (
            queryset.filter(created_at__gte=since, **filters)
            .annotate(week=TruncWeek("created_at"))
            .values_list("week")
            .annotate(n=Count("*"))  # no column: the growth index alone can answer
            .order_by()
        )
        return {
            timezone.localdate(week) if isinstance(week, datetime) else week: n for week, n in rows
        }

    events = ConsentEvent.objects.filter(newsletter=newsletter)
    joined = per_week(events, action__in=JOINED)
    left = per_week(events, action=ConsentEvent.Action.UNSUBSCRIBE)
    bounced = per_week(
        SuppressionEvent.objects.all(),
        kind__in=BOUNCED,
        subscriber__subscriptions__newsletter=newsletter,
    )
    return [
        WeekFigures(monday, joined.get(monday, 0), left.get(monday, 0), bounced.get(monday, 0))
        for monday in mondays
    ]


def issue_rates(newsletter: Newsletter, last: int = 12) -> list[IssueRates]:
    """Click and unsubscribe figures of the newsletter's last sent issues, oldest first."""
    issues = list(
        Issue.objects.filter(newsletter=newsletter, status=Issue.Status.SENT)
        .order_by("-published_at", "-number")
        .values_list("pk", "number", "title", "published_at")[:last]
    )[::-1]
    ids = [row[0] for row in issues]
    sent = sent_per_issue(ids)
    clickers = dict(
        Click.objects.filter(issue_id__in=ids, is_machine=False)
        .values_list("issue_id")
        .annotate(n=Count("reader", distinct=True, filter=KNOWN_READER))
        .order_by()
    )
    unsubscribed = unsubscribed_by_issue(ids)
    return [
        IssueRates(
            issue_id=pk,
            number=number,
            title=title,
            published_at=published_at,
            sent=sent.get(pk, 0),
            unique_clickers=clickers.get(pk, 0),
            unsubscribed=unsubscribed.get(pk, 0),
        )
        for pk, number, title, published_at in issues
    ]


WIDE, NARROW = 720, 340  # CSS pixels: the admin's content column, and a phone's


@dataclass(frozen=True)
class ChartPair:
    """One chart drawn twice: the page shows the wide one or, on a phone, the narrow one."""

    wide: str
    narrow: str


def growth_series(weeks: list[WeekFigures]) -> list[Series]:
    return [
        Series("new confirmed", [w.confirmed for w in weeks]),
        Series("unsubscribed", [w.unsubscribed for w in weeks]),
        Series("bounced", [w.bounced for w in weeks]),
    ]


def week_label(monday: date) -> str:
    return f"{monday.day} {monday:%b}"


class Dashboard(TypedDict):
    """The dashboard page's figures: its tables and its charts."""

    audience: Audience
    weeks: list[WeekFigures]
    rates: list[IssueRates]
    charts: dict[str, ChartPair]  # growth, click_rate, unsubscribe_rate


def dashboard(newsletter: Newsletter) -> Dashboard:
    """The dashboard's figures and its charts, drawn for both widths."""
    weeks = subscriber_growth(newsletter)
    rates = issue_rates(newsletter)
    week_labels = [week_label(w.week) for w in weeks]
    plotted = [r for r in rates if r.sent]  # an issue sent to nobody has no rate, not 0%
    issue_labels = [f"#{r.number}" for r in plotted]

    def pair(
        draw: Callable[..., SafeString], name: str, *args: object, **kwargs: object
    ) -> ChartPair:
        return ChartPair(
            wide=draw(*args, width=WIDE, id_prefix=f"{name}-wide", **kwargs),
            narrow=draw(*args, width=NARROW, id_prefix=f"{name}-narrow", **kwargs),
        )

    charts = {
        "growth": pair(
            bar_chart,
            "growth",
            week_labels,
            growth_series(weeks),
            title=f"Subscribers of {newsletter.name} week by week",
            description="New confirmed, unsubscribed and bounced subscribers per week, "
            f"for the last {len(weeks)} weeks; the table below gives each figure.",
        ),
        "click_rate": pair(
            line_chart,
            "click-rate",
            issue_labels,
            [Series("click rate", [r.click_rate for r in plotted])],
            title="Click rate issue over issue",
            description="Share of recipients who clicked at least one link, per issue.",
        ),
        "unsubscribe_rate": pair(
            line_chart,
            "unsubscribe-rate",
            issue_labels,
            [Series("unsubscribe rate", [r.unsubscribe_rate for r in plotted])],
            colour=1,  # the growth chart's colour for unsubscribes
            title="Unsubscribe rate issue over issue",
            description="Share of recipients who unsubscribed through the issue's link.",
        ),
    }
    return {
        "audience": audience(newsletter, weeks),
        "weeks": weeks,
        "rates": rates,
        "charts": charts,
    }
