"""The quiz's two doors: a reader's signed link from the email, a visitor's form on the web.

Mail scanners fetch every link of a message, so the GET of a reader's link changes nothing:
it opens a page with that headline picked and one "Lock in my pick" button; only the POST
votes. Both answers are the reader's own (``private``): the result shows their pick.

The web page stays the same for everyone (it is cached): its quiz is a plain form posting
here, with no CSRF token, since a token would be per visitor. There is nothing to forge on a
visitor's behalf but an anonymous vote, and those are one per visitor and quiz, rate
limited per address, and counted apart from readers'. The reader's link needs no token
either: it is itself the signed permission to vote for that reader.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from subscribers.services.limits import RateLimited, client_bucket, hit_rate_limit
from subscribers.views import client_ip

from ..models import Issue, IssueSalt
from . import tokens
from .quiz import Quiz, Vote, email_vote, quiz_of, web_vote
from .views import not_found, private

VISITOR_COOKIE = "sf_visitor"
VISITOR_COOKIE_SALT = "issues.quiz.visitor"
WEB_VOTES_PER_HOUR = 60  # per address: a visitor votes once a quiz, this only stops floods


def page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    return private(render(request, f"issues/quiz/{template}", context, status=status))


def result(request, issue: Issue, vote: Vote, *, web: bool) -> HttpResponse:
    """The answer, the visitor's pick and everyone's votes so far (each channel apart)."""
    quiz, tally = vote.quiz, vote.tally
    rows = [
        {
            "number": n,
            "title": title,
            "is_lie": n == quiz.lie,
            "mine": n == vote.pick,
            "votes": tally.votes[n - 1],
            "web_votes": tally.web_votes[n - 1],
        }
        for n, title in enumerate(quiz.headlines, start=1)
    ]
    context = {"issue": issue, "quiz": quiz, "vote": vote, "rows": rows, "web": web}
    context |= {"tally": tally, "right": vote.pick == quiz.lie}
    return page(request, "result.html", context)


def found_quiz(issue_id: int, number: int) -> tuple[Issue, Quiz] | None:
    issue = Issue.objects.select_related("newsletter").filter(pk=issue_id).first()
    quiz = quiz_of(issue, number) if issue else None
    return (issue, quiz) if issue and quiz else None


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def reader_vote(request, token: str):
    """``/q/<voter>.<quiz>.<headline>/``: GET asks to lock the pick in, POST votes."""
    if token.startswith("example."):  # a test copy's or preview's link acts for nobody
        return page(request, "example.html", {})
    unpacked = tokens.unpack_vote(token)
    if unpacked is None:
        return not_found()
    issue_id, delivery_id, body, sent, number, pick = unpacked
    keys = IssueSalt.objects.filter(issue_id=issue_id).only("link_key").first()
    if keys is None or not tokens.verify_voter(tokens.key_of(keys), body, sent):
        return not_found()
    found = found_quiz(issue_id, number)
    if found is None or not 1 <= pick <= len(found[1].headlines):
        return not_found()
    issue, quiz = found
    if request.method != "POST":
        context = {"issue": issue, "quiz": quiz, "pick": pick, "action": request.path}
        return page(request, "confirm.html", context)
    chosen = tokens.small_number(request.POST.get("pick", "")) or 0
    chosen = chosen if 1 <= chosen <= len(quiz.headlines) else pick  # the link's, else
    return result(request, issue, email_vote(issue, quiz, delivery_id, chosen), web=False)


def visitor_id(request) -> tuple[str, bool]:
    """The visitor as the quiz knows them, and whether their cookie already says so.

    Without our cookie it is made from their address, and the cookie set to it: a visitor
    who votes again, from this address or (with the cookie) from another, is the same one,
    and a client that drops cookies still votes once per address."""
    kept = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_COOKIE_SALT)
    if kept:
        return kept, True
    address = client_bucket(client_ip(request)) or ""
    if not address:
        return "", False
    made = hmac.new(settings.SECRET_KEY.encode(), f"visitor:{address}".encode(), hashlib.sha256)
    return made.hexdigest()[:32], False


@csrf_exempt
@require_POST
def visitor_vote(request, quiz: str):
    """``/q/web/<issue>.<quiz>/``: the web page's form; the result on this response only."""
    issue_part, _, number_part = quiz.partition(".")
    issue_id = int(issue_part) if issue_part.isascii() and issue_part.isdigit() else None
    number = tokens.small_number(number_part)
    pick = tokens.small_number(request.POST.get("pick", "")) or 0
    found = found_quiz(issue_id, number) if issue_id and number else None
    if found is None or not 1 <= pick <= len(found[1].headlines):
        return not_found()
    issue, the_quiz = found
    try:
        hit_rate_limit(
            scope="quiz-web-vote",
            identity=client_bucket(client_ip(request)) or "unknown",
            limit=WEB_VOTES_PER_HOUR,
            window_seconds=3600,
        )
    except RateLimited:
        return page(request, "busy.html", {"issue": issue}, status=429)
    visitor, kept = visitor_id(request)
    vote = web_vote(issue, the_quiz, pick, visitor=visitor)
    response = result(request, issue, vote, web=True)
    if visitor and not kept:
        response.set_signed_cookie(
            VISITOR_COOKIE,
            visitor,
            salt=VISITOR_COOKIE_SALT,
            max_age=365 * 24 * 3600,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response
