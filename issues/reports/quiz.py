"""An issue's quizzes as its report shows them: each headline's votes, readers' and the web
page's apart (``issues.engagement.quiz`` counts them)."""

from typing import TypedDict

from ..engagement.quiz import quiz_results
from ..models import Issue


class QuizReport(TypedDict):
    """One quiz in ``issue_report --json``: counts per headline, in order."""

    title: str
    headlines: list[str]
    lie: int  # the made-up headline's number, from 1
    votes: list[int]  # readers' first locked-in votes, from the email
    voters: int
    web_votes: list[int]  # anonymous visitors of the web page, counted apart
    web_voters: int


def quiz_reports(issue: Issue) -> list[QuizReport]:
    return [
        {
            "title": quiz.title,
            "headlines": quiz.headlines,
            "lie": quiz.lie,
            "votes": tally.votes,
            "voters": tally.voters,
            "web_votes": tally.web_votes,
            "web_voters": tally.web_voters,
        }
        for quiz, tally in quiz_results(issue)
    ]


def share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "–"


def quiz_rows(report: QuizReport) -> list[dict[str, object]]:
    """Each headline's line of the report page's table."""
    return [
        {
            "title": title,
            "is_lie": n == report["lie"],
            "votes": report["votes"][n - 1],
            "share": share(report["votes"][n - 1], report["voters"]),
            "web_votes": report["web_votes"][n - 1],
            "web_share": share(report["web_votes"][n - 1], report["web_voters"]),
        }
        for n, title in enumerate(report["headlines"], start=1)
    ]
