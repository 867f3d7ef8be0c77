"""An issue's link figures as the report's table and its CSV export show them."""

import csv
import io
from dataclasses import dataclass
from typing import TypedDict

from subscribers.csv_io import spreadsheet_safe

from .charts import percent
from .engagement import IssueEngagement, LinkFigures
from .quiz import QuizReport

NOT_REPORTED = "not reported by SMTP"
CSV_HEADER = ["rank", "position", "url", "label", "clicks", "unique", "share", "machine_clicks"]


@dataclass(frozen=True)
class LinkRow:
    rank: int
    link: LinkFigures
    share: float  # of the readers who clicked any link, those who clicked this one
    bar: float  # width of its bar, the link with the most readers' being 100

    @property
    def share_label(self) -> str:
        return percent(self.share)


def link_rows(engagement: IssueEngagement) -> list[LinkRow]:
    """The links with the most readers first, each with its share of the readers who
    clicked (shares add up to more than 100% when readers clicked several links)."""
    total = engagement.unique_clickers
    most = max((link.unique for link in engagement.links), default=0)
    return [
        LinkRow(
            rank=rank,
            link=link,
            share=link.unique / total if total else 0.0,
            bar=round(100 * link.unique / most, 1) if most else 0.0,
        )
        for rank, link in enumerate(engagement.links, start=1)
    ]


def links_csv(engagement: IssueEngagement) -> str:
    """One row per link; editors' URLs and labels cannot become spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in link_rows(engagement):
        link = row.link
        writer.writerow(
            [
                row.rank,
                link.position,
                spreadsheet_safe(link.url),
                spreadsheet_safe(link.label),
                link.clicks,
                link.unique,
                f"{row.share:.4f}",
                link.machine_clicks,
            ]
        )
    return out.getvalue()


class Placement(TypedDict):
    """One place a URL has in the email: people's clicks on it only."""

    position: int
    label: str
    clicks: int  # repeats included
    unique: int  # distinct readers
    machine_clicks: int


class LinkReport(Placement):
    """One URL in ``issue_report --json``, over all its placements (``position`` and
    ``label`` are its first placement's; ``unique`` counts a reader of two placements once)."""

    url: str
    placements: list[Placement]  # in order of position


class EngagementReport(TypedDict):
    """``issue_report --json``: the issue's engagement as plain data."""

    issue: int
    sent: int
    delivered: int
    bounced: int
    complained: int
    unsubscribed: int
    human_clicks: int
    unique_clickers: int
    machine_clicks: int
    esp_reported_clicks: (
        int  # the ESP's clicks without a user agent: neither people's nor machines'
    )
    click_rate: float  # unique clickers / sent, four decimals
    opens_estimated: int | None  # once per reader; None: nothing measures opens
    unique_openers_estimated: int | None
    links: list[LinkReport]  # one per URL, the most readers first
    quiz: QuizReport | None  # the issue's first quiz, if it has one
    quizzes: list[QuizReport]  # all of them, in order


def report_data(
    engagement: IssueEngagement, quizzes: list[QuizReport] | None = None
) -> EngagementReport:
    """The report as plain data (``issue_report --json``): people's clicks per link,
    ``clicks`` with repeats, ``unique`` readers; machines only in ``machine_clicks``; the
    votes of the issue's ``quizzes`` (``reports.quiz.quiz_reports``)."""
    quizzes = quizzes or []
    return {
        "issue": engagement.issue_id,
        "sent": engagement.sent,
        "delivered": engagement.delivered,
        "bounced": engagement.bounced,
        "complained": engagement.complained,
        "unsubscribed": engagement.unsubscribed,
        "human_clicks": engagement.human_clicks,
        "unique_clickers": engagement.unique_clickers,
        "machine_clicks": engagement.machine_clicks,
        "esp_reported_clicks": engagement.esp_reported_clicks,
        "click_rate": round(engagement.click_rate, 4),
        "opens_estimated": engagement.opens_estimated,
        "unique_openers_estimated": engagement.unique_openers_estimated,
        "links": links_by_url(engagement),
        "quiz": quizzes[0] if quizzes else None,
        "quizzes": quizzes,
    }


def placement(link: LinkFigures) -> Placement:
    return {
        "position": link.position,
        "label": link.label,
        "clicks": link.clicks,
        "unique": link.unique,
        "machine_clicks": link.machine_clicks,
    }


def links_by_url(engagement: IssueEngagement) -> list[LinkReport]:
    """One entry per URL with its placements, the most readers first (as the links are)."""
    placements: dict[str, list[LinkFigures]] = {}
    for link in engagement.links:  # most readers first: a URL's first entry is its place
        placements.setdefault(link.url, []).append(link)
    entries: list[LinkReport] = []
    for url, links in placements.items():
        links.sort(key=lambda link: link.position)
        entries.append(
            {
                **placement(links[0]),
                "url": url,
                "clicks": sum(link.clicks for link in links),
                "unique": engagement.readers_by_url.get(url, 0),
                "machine_clicks": sum(link.machine_clicks for link in links),
                "placements": [placement(link) for link in links],
            }
        )
    entries.sort(key=lambda entry: (-entry["unique"], -entry["clicks"], entry["position"]))
    return entries


def report_text(
    title: str, engagement: IssueEngagement, quizzes: list[QuizReport] | None = None
) -> str:
    """The report as a terminal shows it: the figures, the links (most readers first), then
    each quiz's votes."""
    reported = engagement.outcomes_reported

    def outcome(count: int) -> int | str:
        return count if reported else NOT_REPORTED

    figures: list[tuple[str, int | str | None]] = [
        ("Sent", engagement.sent),
        ("Delivered", outcome(engagement.delivered)),
        ("Bounced", outcome(engagement.bounced)),
        ("Complained", outcome(engagement.complained)),
        ("Unsubscribed through this issue", engagement.unsubscribed),
        ("Clicks by people", engagement.human_clicks),
        ("Readers who clicked", engagement.unique_clickers),
        ("Click rate", percent(engagement.click_rate)),
        ("Machine clicks (left out)", engagement.machine_clicks),
    ]
    if engagement.esp_reported_clicks:
        figures += [("Clicks the ESP reported, unjudged", engagement.esp_reported_clicks)]
    if engagement.opens_estimated is not None:
        figures += [("Opens (estimate, once per reader)", engagement.opens_estimated)]
    lines = [title, ""] + [f"{name:<34}{value}" for name, value in figures]
    rows = link_rows(engagement)
    lines += ["", f"{'#':>3}  {'readers':>7}  {'clicks':>6}  {'share':>6}  link"]
    lines += [
        f"{row.rank:>3}  {row.link.unique:>7}  {row.link.clicks:>6}  {row.share_label:>6}  "
        f"{row.link.url}"
        for row in rows
    ]
    if not rows:
        lines.append("     (no tracked links)")
    for quiz in quizzes or []:
        lines += ["", f"Quiz: {quiz['title']} ({quiz['voters']} readers voted; web page apart)"]
        lines += [f"{'#':>3}  {'readers':>7}  {'web':>6}  headline"]
        lines += [
            f"{n:>3}  {votes:>7}  {web:>6}  {headline}{' (the lie)' if n == quiz['lie'] else ''}"
            for n, (headline, votes, web) in enumerate(
                zip(quiz["headlines"], quiz["votes"], quiz["web_votes"], strict=True), start=1
            )
        ]
    return "\n".join(lines) + "\n"
