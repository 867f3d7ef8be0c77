"""Votes in an issue's headline quizzes: readers' from their email, visitors' from the web.

A vote is the reader's own act, so it is counted whether or not the newsletter tracks
clicks. Who voted is kept as clicks are: under the reader's per-issue pseudonym
(``pseudonyms.reader_hash``), and linked to the subscriber only where the newsletter keeps
per-subscriber history. The quiz is open while the issue's reader salt lasts; once it is
dropped (``pseudonyms.drop_final_salts``) the pseudonyms name nobody, no one could be told
apart any more, and the quiz is closed: a vote then shows the result and records nothing.

Web votes come from anyone, so they are counted apart and never mixed with readers': one
per visitor and quiz, the visitor known by a signed cookie made from their address the
first time (``quiz_views.visitor_id``), kept only as a hash under the same salt.
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count

from ..compose.blocks.sanitizer import markdown_html
from ..compose.rendering import stream
from ..models import Delivery, Issue, IssueSalt, QuizVote
from .pseudonyms import reader_hash


@dataclass(frozen=True)
class Quiz:
    """One quiz of an issue, as its blocks say now: known by its number (from 1)."""

    number: int
    title: str
    headlines: list[str]
    lie: int  # the made-up headline's number, from 1
    reveal_html: str
    urls: list[str]  # each headline's source link ("" for none)


@dataclass(frozen=True)
class Tally:
    """How a quiz was voted: one count per headline, in order, per channel."""

    votes: list[int]  # readers, from the email
    web_votes: list[int]  # visitors of the web page, counted apart

    @property
    def voters(self) -> int:
        return sum(self.votes)

    @property
    def web_voters(self) -> int:
        return sum(self.web_votes)


@dataclass(frozen=True)
class Vote:
    """What a locked-in pick did: ``pick`` is the one that counts (the first), ``counted``
    whether this request recorded it, ``closed`` whether the quiz takes votes no more."""

    quiz: Quiz
    pick: int
    counted: bool
    closed: bool
    tally: Tally


def quizzes_of(issue: Issue) -> list[Quiz]:
    """The issue's quizzes in order, numbered as the renderer numbers them."""
    found: list[Quiz] = []
    for block in stream(issue):
        kind, data = block.content
        if kind == "quiz":
            found.append(
                Quiz(
                    number=len(found) + 1,
                    title=data["title"],
                    headlines=[h["title"] for h in data["headlines"]],
                    lie=int(data["fake"]),
                    reveal_html=markdown_html(data.get("reveal") or ""),
                    urls=[h.get("url") or "" for h in data["headlines"]],
                )
            )
    return found


def quiz_of(issue: Issue, number: int) -> Quiz | None:
    return next((quiz for quiz in quizzes_of(issue) if quiz.number == number), None)


def tally(issue_id: int, quiz: Quiz) -> Tally:
    counts = {QuizVote.Channel.EMAIL: [0] * len(quiz.headlines)}
    counts[QuizVote.Channel.WEB] = [0] * len(quiz.headlines)
    rows = (
        QuizVote.objects.filter(issue_id=issue_id, quiz=quiz.number)
        .values_list("channel", "pick")
        .annotate(n=Count("id"))
    )
    for channel, pick, n in rows:
        if channel in counts and 1 <= pick <= len(quiz.headlines):
            counts[channel][pick - 1] += n
    return Tally(votes=counts[QuizVote.Channel.EMAIL], web_votes=counts[QuizVote.Channel.WEB])


def open_salt(issue: Issue) -> str:
    """The issue's reader salt while its quizzes are open, else ""."""
    keys = IssueSalt.objects.filter(issue=issue).only("reader_salt").first()
    return keys.reader_salt if keys else ""


def lock_in(issue: Issue, quiz: Quiz, pick: int, channel: str, reader: str, **extra) -> Vote:
    """Record ``reader``'s pick unless they voted in this quiz already; the first counts."""
    counted = False
    try:
        with transaction.atomic():
            QuizVote.objects.create(
                issue=issue, quiz=quiz.number, pick=pick, channel=channel, reader=reader, **extra
            )
        counted = True
    except IntegrityError:  # voted before: that vote stands
        pass
    first = (
        QuizVote.objects.filter(issue=issue, quiz=quiz.number, channel=channel, reader=reader)
        .values_list("pick", flat=True)
        .first()
    )
    return Vote(quiz, first or pick, counted, False, tally(issue.pk, quiz))


def closed(issue: Issue, quiz: Quiz, pick: int) -> Vote:
    return Vote(quiz, pick, False, True, tally(issue.pk, quiz))


def email_vote(issue: Issue, quiz: Quiz, delivery_id: int, pick: int) -> Vote:
    """A reader's vote through their signed link (the link's delivery, of this issue)."""
    salt = open_salt(issue)
    delivery = (
        Delivery.objects.filter(pk=delivery_id, issue=issue)
        .values("subscriber_id", "subscriber__no_tracking")
        .first()
    )
    if not salt or delivery is None or not 1 <= pick <= len(quiz.headlines):
        return closed(issue, quiz, pick)
    subscriber_id = delivery["subscriber_id"]
    keeps_history = issue.newsletter.subscriber_history and not delivery["subscriber__no_tracking"]
    return lock_in(
        issue,
        quiz,
        pick,
        QuizVote.Channel.EMAIL,
        reader_hash(salt, subscriber_id),
        subscriber_id=subscriber_id if keeps_history else None,
    )


def visitor_key(salt: str, visitor: str) -> str:
    """A web visitor as stored: their id (from their cookie or address) hashed with the
    issue's salt, like a reader's pseudonym."""
    digest = hmac.new(salt.encode(), f"visitor:{visitor}".encode(), hashlib.sha256)
    return "w:" + digest.hexdigest()[:32]


def web_vote(issue: Issue, quiz: Quiz, pick: int, *, visitor: str) -> Vote:
    """An anonymous visitor's vote on the issue's web page, counted apart from readers'.
    ``visitor`` is who they are to the site (``quiz_views.visitor_id``)."""
    salt = open_salt(issue)
    if not salt or not 1 <= pick <= len(quiz.headlines) or not visitor:
        return closed(issue, quiz, pick)
    return lock_in(issue, quiz, pick, QuizVote.Channel.WEB, visitor_key(salt, visitor))


def quiz_results(issue: Issue) -> list[tuple[Quiz, Tally]]:
    """Every quiz of the issue with its votes, for reports and "Last week's quiz"."""
    return [(quiz, tally(issue.pk, quiz)) for quiz in quizzes_of(issue)]


EARLIER_ISSUES_LOOKED_AT = 5  # "last week's" quiz: a gap of an issue or two without one


def last_result(issue: Issue) -> tuple[Issue, dict] | None:
    """A "Last week's quiz" block's data for ``issue``: the first quiz of the newsletter's
    latest sent issue before it that has one, with how readers voted, ready to edit."""
    earlier = Issue.objects.filter(
        newsletter_id=issue.newsletter_id, status=Issue.Status.SENT, kind=issue.kind
    ).exclude(pk=issue.pk)
    if issue.published_at:
        earlier = earlier.filter(published_at__lt=issue.published_at)
    for candidate in earlier.order_by("-published_at", "-pk")[:EARLIER_ISSUES_LOOKED_AT]:
        results = quiz_results(candidate)
        if results:
            return candidate, result_data(*results[0])
    return None


def result_data(quiz: Quiz, counts: Tally) -> dict:
    """The stored data of a ``quiz_result`` block for ``quiz`` as ``counts`` voted it."""

    def votes(n: int) -> str:
        readers, web = counts.votes[n], counts.web_votes[n]
        share = f" ({readers / counts.voters:.0%})" if counts.voters else ""
        said = f"{readers} reader{'s' if readers != 1 else ''}{share}"
        return said + (f" · {web} on the web" if web else "")

    right = counts.votes[quiz.lie - 1]
    summary = (
        f"{right} of {counts.voters} reader{'s' if counts.voters != 1 else ''} spotted the lie."
        if counts.voters
        else ""
    )
    return {
        "title": "Last week's quiz",
        "headlines": [
            {"title": title, "url": url, "note": votes(n)}
            for n, (title, url) in enumerate(zip(quiz.headlines, quiz.urls, strict=True))
        ],
        "fake": quiz.lie,
        "summary": summary,
    }
