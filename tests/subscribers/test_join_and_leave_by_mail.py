"""Join, confirm and leave through HTTP, with the mail sent by a real worker to an SMTP sink.

Confirmation and welcome mails leave through the worker, never inside the request: one
worker serves this whole module (the ``mail`` fixture) to keep the suite fast.
"""

import json
import smtplib

import pytest
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import signing
from django.test import Client
from django.urls import reverse

from subscribers import services
from subscribers.models import ConsentEvent, Subscriber
from superfast.mail import is_transient
from tests.support.processes import logged
from tests.support.subscribers import (
    links_in,
    mails_to,
    owners_of_links,
    path_of,
    post_one_click_unsubscribe,
    wait_for_mails,
)
from tests.support.waiting import wait_until

GAVE_UP = "Gave up sending the confirm mail"

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBE = "/subscribe/"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"


def subscribe(client, email="ada@example.org", **extra):
    return client.post(
        SUBSCRIBE, {"email": email, "name": "Ada", **extra}, HTTP_USER_AGENT=BROWSER_UA
    )


def confirmation_path(sink, email="ada@example.org", count=1):
    """The confirmation link of the ``count``-th mail to ``email``, once it arrived."""
    message = wait_for_mails(sink, email, count)[count - 1]
    [url] = links_in(message, "/subscribe/confirm/")
    return path_of(url)


def join(client, sink, email="ada@example.org", **extra):
    """Subscribe and confirm, as a person would; returns the subscriber once welcomed."""
    assert subscribe(client, email, **extra).status_code == 200
    assert client.post(confirmation_path(sink, email)).status_code == 200
    wait_for_mails(sink, email, count=2)
    return Subscriber.objects.get(email__iexact=email)


def test_subscribe_confirm_by_post_then_welcome(client, mail, newsletter):
    response = subscribe(client)
    assert response.status_code == 200
    assert b"Check your inbox" in response.content

    [confirmation] = wait_for_mails(mail, "ada@example.org")
    assert confirmation.rcpt_tos == ["ada@example.org"]
    assert "Please confirm" in confirmation.message["Subject"]
    subscriber = Subscriber.objects.get(email="ada@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert not services.recipients(newsletter.pk).exists()

    link = confirmation_path(mail)
    landing = client.get(link)  # what a link scanner does: it must confirm nothing
    assert landing.status_code == 200
    assert b"Confirm my subscription" in landing.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING

    confirmed = client.post(link, HTTP_USER_AGENT=BROWSER_UA)
    assert confirmed.status_code == 200
    assert b"You are subscribed" in confirmed.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    assert list(services.recipients(newsletter.pk)) == [subscriber]
    actions = sorted(subscriber.consent_events.values_list("action", "source", "ip", "user_agent"))
    assert actions == [
        ("confirm", "email", "127.0.0.1", BROWSER_UA),
        ("subscribe", "form", "127.0.0.1", BROWSER_UA),
    ]

    _, welcome = wait_for_mails(mail, "ada@example.org", count=2)
    assert welcome.message["Subject"] == f"Welcome to {newsletter.name}"
    assert welcome.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ("preferences", subscriber.pk) in owners_of_links(welcome)


def test_json_subscribe_answers_json_and_mails_a_confirmation(client, mail, newsletter):
    response = client.post(
        SUBSCRIBE,
        json.dumps({"email": "  Grace@Example.ORG ", "newsletter": newsletter.slug}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["ok"] is True
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Grace@example.org"
    assert subscriber.source == "api"
    wait_for_mails(mail, "Grace@example.org")


def test_honeypot_submission_gets_the_same_answer_and_no_mail(client, mail, newsletter):
    bot = subscribe(client, "bot-target@example.org", website="http://spam.example")
    genuine = subscribe(client, "real@example.org")
    assert bot.status_code == genuine.status_code == 200
    assert bot.content == genuine.content
    assert not Subscriber.objects.filter(email="bot-target@example.org").exists()
    # The worker takes tasks in order: once the later mail is here, the bot's never comes.
    wait_for_mails(mail, "real@example.org")
    assert not mails_to(mail, "bot-target@example.org")


def test_responses_are_identical_for_new_pending_and_active_addresses(client, mail, newsletter):
    join(client, mail, "active@example.org")
    subscribe(client, "pending@example.org")
    answers = [subscribe(client, f"{who}@example.org") for who in ("new", "pending", "active")]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].content == answers[1].content == answers[2].content
    # The owner of the active address hears of it, with a way to manage their preferences.
    note = wait_for_mails(mail, "active@example.org", count=3)[-1]
    assert note.message["Subject"] == "You are already subscribed"
    assert links_in(note, "/preferences/")
    api = [
        client.post(SUBSCRIBE, {"email": f"{who}@example.org"}, content_type="application/json")
        for who in ("another-new", "pending", "active")
    ]
    assert api[0].content == api[1].content == api[2].content


def test_confirmation_mails_per_address_are_limited_with_a_clear_429(
    client, mail, newsletter, settings
):
    settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY = 3
    answers = [subscribe(client, "victim@example.org").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    throttled = subscribe(client, "victim@example.org")
    assert b"Too many subscription requests" in throttled.content
    api = client.post(SUBSCRIBE, {"email": "victim@example.org"}, content_type="application/json")
    assert api.status_code == 429
    assert "try again" in api.json()["message"]
    subscribe(client, "witness@example.org")  # queued last: once it is here, all are
    wait_for_mails(mail, "witness@example.org")
    assert len(mails_to(mail, "victim@example.org")) == 3


def test_forged_confirmation_token_gets_400_and_changes_nothing(client, mail, newsletter):
    subscribe(client)
    link = confirmation_path(mail)
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(reverse("subscribers:confirm", args=[forged]))
    assert response.status_code == 400
    assert b"This link does not work" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    # A token minted for another subscriber id fails too: the payload is signed.
    other = signing.dumps({"s": 999, "n": [newsletter.pk], "c": "x"}, salt="wrong")
    assert client.post(reverse("subscribers:confirm", args=[other])).status_code == 400


def test_replayed_confirmation_after_unsubscribing_does_not_resubscribe(client, mail, newsletter):
    subscriber = join(client, mail)
    old_link = confirmation_path(mail)
    # Replaying while subscribed just says so, and sends no second welcome.
    again = client.post(old_link)
    assert again.status_code == 200
    assert b"already subscribed" in again.content

    services.unsubscribe(subscriber)
    replay = client.post(old_link)
    assert replay.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()
    subscribe(client, "witness@example.org")
    wait_for_mails(mail, "witness@example.org")
    assert len(mails_to(mail, subscriber.email)) == 2  # the confirmation and one welcome


def test_one_click_unsubscribe_exactly_as_gmail_posts_it(mail, newsletter):
    subscriber = join(Client(), mail)
    header = mails_to(mail, subscriber.email)[-1].message["List-Unsubscribe"]
    https_url = header.split(",")[0].strip(" <>")
    assert "mailto:" not in header  # nothing here reads mail to the unsubscribe address

    response = post_one_click_unsubscribe(https_url)
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.UNSUBSCRIBE).count() == 1
    # Idempotent: a second click (mail clients retry) is fine and records nothing new.
    again = post_one_click_unsubscribe(https_url)
    assert again.status_code == 200
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.UNSUBSCRIBE).count() == 1


def test_resubscribing_after_unsubscribing_needs_a_new_confirmation(client, mail, newsletter):
    subscriber = join(client, mail)
    services.unsubscribe(subscriber)
    assert subscribe(client).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()

    client.post(confirmation_path(mail, count=3))  # after the first confirmation and welcome
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.RESUBSCRIBE).exists()


def test_a_refused_rcpt_is_retried_with_backoff_until_the_server_accepts(client, mail, newsletter):
    refusals = []

    def greylist(address):
        if len(refusals) < 2:
            refusals.append(address)
            return "451 4.7.1 Greylisted, try again later"
        return None

    mail.replies["ada@example.org"] = greylist
    assert subscribe(client).status_code == 200
    [confirmation] = wait_for_mails(mail, "ada@example.org")
    assert len(refusals) == 2
    assert links_in(confirmation, "/subscribe/confirm/")


def test_a_permanently_refused_address_is_not_retried(client, mail, newsletter):
    attempts = []

    def no_such_user(address):
        attempts.append(address)
        return "550 5.1.1 No such user"

    mail.replies["gone@example.org"] = no_such_user
    gave_up = logged(mail.worker, GAVE_UP)
    subscribe(client, "gone@example.org")
    # The task returns once the refusal is final (a retry would be scheduled before that).
    wait_until(lambda: logged(mail.worker, GAVE_UP) > gave_up, 30, what="the worker giving up")
    assert attempts == ["gone@example.org"]
    assert not mails_to(mail, "gone@example.org")


def test_the_request_only_queues_the_mail_and_the_worker_sends_it(
    client, mail, smtp_sink, newsletter
):
    """``smtp_sink`` is where this (web) process would send; ``mail`` is the worker's."""
    assert subscribe(client).status_code == 200
    wait_for_mails(mail, "ada@example.org")
    assert not smtp_sink.messages


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (451, b"greylisted")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), False),
        (smtplib.SMTPDataError(421, b"too busy"), True),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (AnymailAPIError("throttled", status_code=429), True),
        (AnymailAPIError("ESP down", status_code=503), True),
        (AnymailAPIError("bad request", status_code=400), False),
        (AnymailRecipientsRefused("refused"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_errors_a_retry_can_cure_count_as_transient(error, transient):
    assert is_transient(error) is transient


def test_no_confirmation_goes_out_once_the_link_could_no_longer_work(newsletter, smtp_sink):
    subscriber = services.subscribe("ada@example.org", [newsletter])
    services.suppress(subscriber, "bounce", reason="hard bounce")
    sent = services.send_subscriber_mail(services.CONFIRM, subscriber.pk, [newsletter.pk])
    assert sent is False
    assert not smtp_sink.messages
