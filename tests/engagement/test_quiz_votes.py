"""Readers vote in the quiz from their inbox, visitors on the web page, counted apart.

The issue goes out through the real send path (plan, claim, substitute, SMTP sink); the
links come out of the messages readers received and are followed over HTTP."""

import json
import re
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.test import Client

from issues.compose.rendering import render_issue
from issues.delivery import plan_dispatch, run_sender
from issues.delivery.lifecycle import frozen_snapshot
from issues.models import Dispatch, IssueSalt, QuizVote
from subscribers.models import Subscriber
from subscribers.services.privacy import personal_data, set_no_tracking
from tests.support.composing import FOUR_HEADLINE_QUIZ, add_block
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue, make_newsletter

QUIZ_LINK = re.compile(re.escape(settings.SITE_URL) + r'(/q/[^"<>\s]+/)')


def quiz_links(message) -> tuple[list[str], list[str]]:
    """(the HTML part's quiz links, the text part's), as paths on this site."""
    text, html = message.get_payload()
    return QUIZ_LINK.findall(html.get_content()), QUIZ_LINK.findall(text.get_content())


def send_quiz_issue(smtp_sink, readers=2, **newsletter_fields):
    newsletter = make_newsletter(slug="quizzy", name="Quizzy", **newsletter_fields)
    issue = make_issue(newsletter, "Quiz week")
    add_block(issue, "markdown", {"body": "Hello! Guess the lie."})
    add_block(issue, "quiz", FOUR_HEADLINE_QUIZ)
    people = make_subscribers(newsletter, readers)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=frozen_snapshot(issue))
    plan_dispatch(dispatch)
    run_sender(dispatch.pk)
    mails = {m.rcpt_tos[0]: m.message for m in smtp_sink.messages}
    return issue, [mails[person.email] for person in people]


def report(issue) -> dict:
    out = StringIO()
    call_command("issue_report", str(issue.pk), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_reader_votes_once_from_the_email_and_web_votes_are_counted_apart(
    smtp_sink, db, admin_client
):
    issue, (first, second) = send_quiz_issue(smtp_sink, track_clicks=False)
    html_links, text_links = quiz_links(first)
    assert len(html_links) == 4 and text_links == html_links  # one per headline, both parts
    assert quiz_links(second)[0] != html_links  # signed per reader
    reader = Client()

    # A scanner (or the reader) opening the link: the pick shown, nothing recorded.
    page = reader.get(html_links[1])
    assert page.status_code == 200 and b"Lock in my pick" in page.content
    assert b'value="2" checked' in page.content and page["Cache-Control"] == "private, no-store"
    assert not QuizVote.objects.exists()

    locked = reader.post(html_links[1]).content.decode()
    assert "Your pick is locked in" in locked and "You spotted the lie" in locked
    assert "Moon base opens a bakery <strong>(the lie)</strong>" in locked
    # A later pick, by another of the reader's links, changes nothing.
    again = reader.post(html_links[0]).content.decode()
    assert "already voted" in again and "You spotted the lie" in again
    assert reader.post(quiz_links(second)[0][0]).status_code == 200  # the other reader: 1

    # Anonymous visitors, from the web page's form (a plain POST, no CSRF token).
    public = Client().get(issue.get_absolute_url())
    web_page = public.content.decode()
    form = re.search(r'<form method="post" action="([^"]+)"', web_page)
    assert form and "csrfmiddlewaretoken" not in web_page and "Set-Cookie" not in public
    visitor = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")
    voted = visitor.post(form[1], {"pick": "4"})
    assert voted.status_code == 200 and b"Your pick is locked in" in voted.content
    assert b"already voted" in visitor.post(form[1], {"pick": "3"}).content  # its cookie
    cookieless = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")
    assert b"already voted" in cookieless.post(form[1], {"pick": "3"}).content  # its address
    elsewhere = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.4")
    assert b"Your pick is locked in" in elsewhere.post(form[1], {"pick": "2"}).content

    figures = report(issue)
    expected = {"votes": [1, 1, 0, 0], "voters": 2, "web_votes": [0, 1, 0, 1], "web_voters": 2}
    assert {k: figures["quiz"][k] for k in expected} == expected
    assert figures["quizzes"] == [figures["quiz"]] and figures["quiz"]["lie"] == 2
    shown = admin_client.get(f"/admin/issues/issue/{issue.pk}/engagement/").content.decode()
    assert "Quiz: 3 headlines and a lie" in shown and "2 readers voted from the email" in shown


def test_forged_links_answer_404_and_a_closed_quiz_records_nothing(smtp_sink, db):
    issue, (first,) = send_quiz_issue(smtp_sink, readers=1)
    link = quiz_links(first)[0][0]
    token = link.split("/")[2]
    issue_part, delivery, signature, quiz, pick = token.split(".")
    other_delivery = f"/q/{issue_part}.{int(delivery, 36) + 1:x}.{signature}.{quiz}.{pick}/"
    for forged in (other_delivery, f"/q/{token[:-3]}9.9/", "/q/nonsense/"):
        assert Client().get(forged).status_code == 404
    assert Client().post(f"/q/web/{issue.pk}.7/", {"pick": "1"}).status_code == 404
    assert b"acts for nobody" in Client().get("/q/example.1.2/").content

    IssueSalt.objects.filter(issue=issue).update(reader_salt="")  # the counts are final
    closed = Client().post(link).content.decode()
    assert "This quiz is closed" in closed and not QuizVote.objects.exists()


def test_next_issue_fills_last_weeks_quiz_from_the_votes_in_one_request(
    smtp_sink, db, admin_client
):
    issue, (first, second) = send_quiz_issue(smtp_sink)
    Client().post(quiz_links(first)[0][1])  # the lie
    Client().post(quiz_links(second)[0][0])
    Client(REMOTE_ADDR="203.0.113.7").post(f"/q/web/{issue.pk}.1/", {"pick": "2"})
    issue.refresh_from_db()
    assert issue.status == issue.Status.SENT
    draft = make_issue(issue.newsletter, "Next week")

    filled = admin_client.get(f"/admin/issues/issue/{draft.pk}/quiz-result/").json()
    assert filled["from"]["issue"] == issue.pk
    notes = [h["note"] for h in filled["data"]["headlines"]]
    assert notes == [
        "1 reader (50%)",
        "1 reader (50%) · 1 on the web",
        "0 readers (0%)",
        "0 readers (0%)",
    ]
    assert filled["data"]["fake"] == 2
    assert filled["data"]["summary"] == "1 of 2 readers spotted the lie."
    add_block(draft, "quiz_result", filled["values"])
    rendered = render_issue(draft)
    assert "Moon base opens a bakery <strong>(the lie)</strong>" in rendered.web_html
    assert "1 reader (50%) · 1 on the web" in rendered.email_html
    assert "2. Moon base opens a bakery (the lie): 1 reader (50%) · 1 on the web" in rendered.text

    nothing = admin_client.get(f"/admin/issues/issue/{issue.pk}/quiz-result/").json()
    assert nothing["data"] is None and "No earlier sent issue" in nothing["message"]


def test_who_voted_is_kept_as_click_history_is_and_forgotten_with_it(smtp_sink, db):
    issue, (keeper, plain) = send_quiz_issue(smtp_sink, subscriber_history=True)
    keeper_reader, plain_reader = make_subscribers_of(issue)
    Subscriber.objects.filter(pk=plain_reader.pk).update(no_tracking=True)
    for message in (keeper, plain):
        assert Client().post(quiz_links(message)[0][1]).status_code == 200
    # Counted both (a vote is the reader's own act); linked only where history is kept.
    assert sorted(QuizVote.objects.values_list("subscriber", flat=True), key=str) == sorted(
        [keeper_reader.pk, None], key=str
    )
    votes = personal_data(keeper_reader)["emails"]["quiz_votes"]
    assert [(v["email"], v["quiz"], v["headline"]) for v in votes] == [("Quiz week", 1, 2)]

    set_no_tracking(Subscriber.objects.get(pk=keeper_reader.pk), True)
    assert not QuizVote.objects.filter(subscriber__isnull=False).exists()
    assert personal_data(keeper_reader)["emails"]["quiz_votes"] == []
    assert report(issue)["quiz"]["votes"] == [0, 2, 0, 0]  # the counts stay


def make_subscribers_of(issue):
    return list(
        Subscriber.objects.filter(subscriptions__newsletter=issue.newsletter).order_by("pk")
    )
