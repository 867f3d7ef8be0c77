"""Join, confirm, manage and leave, end to end through HTTP, with mail from a real SMTP sink."""

import json
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from subscribers import services, tokens
from subscribers.models import ConsentEvent, Subscriber, Subscription
from tests.support.subscribers import links_in, mails_to, path_of

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscribe/"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"


def subscribe(client, email="ada@example.org", **extra):
    return client.post(
        SUBSCRIBE, {"email": email, "name": "Ada", **extra}, HTTP_USER_AGENT=BROWSER_UA
    )


def confirmation_path(sink, email="ada@example.org"):
    """The confirmation link of the latest confirmation mail to ``email``."""
    for message in reversed(mails_to(sink, email)):
        if urls := links_in(message, "/subscribe/confirm/"):
            return path_of(urls[0])
    raise AssertionError(f"no confirmation mail to {email}")


def join(client, sink, email="ada@example.org", **extra):
    """Subscribe and confirm, as a person would; returns the subscriber."""
    assert subscribe(client, email, **extra).status_code == 200
    assert client.post(confirmation_path(sink, email)).status_code == 200
    return Subscriber.objects.get(email__iexact=email)


def test_subscribe_confirm_by_post_then_welcome(client, smtp_sink, newsletter):
    response = subscribe(client)
    assert response.status_code == 200
    assert b"Check your inbox" in response.content

    [confirmation] = smtp_sink.messages
    assert confirmation.rcpt_tos == ["ada@example.org"]
    assert "Please confirm" in confirmation.message["Subject"]
    subscriber = Subscriber.objects.get(email="ada@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert not services.recipients(newsletter.pk).exists()

    link = confirmation_path(smtp_sink)
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

    welcome = smtp_sink.messages[-1]
    assert len(smtp_sink.messages) == 2
    assert welcome.message["Subject"] == f"Welcome to {newsletter.name}"
    assert welcome.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert tokens.preferences_url(subscriber.pk) in links_in(welcome, "/preferences/")


def test_json_subscribe_answers_json_and_mails_a_confirmation(client, smtp_sink, newsletter):
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
    assert mails_to(smtp_sink, "Grace@example.org")


def test_json_subscribe_with_a_bad_address_gets_400_with_the_reason(client, newsletter):
    response = client.post(SUBSCRIBE, {"email": "not-an-address"}, content_type="application/json")
    assert response.status_code == 400
    assert "valid email" in response.json()["errors"]["email"][0]["message"]
    assert not Subscriber.objects.exists()


def test_html_form_with_a_bad_address_shows_the_form_again_with_the_reason(client, newsletter):
    response = client.post(SUBSCRIBE, {"email": "ada@", "name": "Ada"})
    assert response.status_code == 400
    assert b"valid email" in response.content
    assert b'value="Ada"' in response.content


def test_honeypot_submission_gets_the_same_answer_and_no_mail(client, smtp_sink, newsletter):
    genuine = subscribe(client, "real@example.org")
    bot = subscribe(client, "bot-target@example.org", website="http://spam.example")
    assert bot.status_code == genuine.status_code == 200
    assert bot.content == genuine.content
    assert not Subscriber.objects.filter(email="bot-target@example.org").exists()
    assert not mails_to(smtp_sink, "bot-target@example.org")


def test_several_newsletters_need_a_choice_and_get_separate_subscriptions(
    client, smtp_sink, newsletter, second_newsletter
):
    assert client.post(SUBSCRIBE, {"email": "ada@example.org"}).status_code == 400
    subscriber = join(client, smtp_sink, newsletter=second_newsletter.slug)
    assert list(services.recipients(second_newsletter.pk)) == [subscriber]
    assert not services.recipients(newsletter.pk).exists()
    # Subscribing an active address to a second newsletter asks to confirm that one too.
    join(client, smtp_sink, newsletter=newsletter.slug)
    assert list(services.recipients(newsletter.pk)) == [subscriber]


def test_responses_are_identical_for_new_pending_and_active_addresses(
    client, smtp_sink, newsletter
):
    join(client, smtp_sink, "active@example.org")
    subscribe(client, "pending@example.org")
    answers = [subscribe(client, f"{who}@example.org") for who in ("new", "pending", "active")]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].content == answers[1].content == answers[2].content
    # The owner of the active address hears of it, with a way to manage their preferences.
    note = mails_to(smtp_sink, "active@example.org")[-1]
    assert note.message["Subject"] == "You are already subscribed"
    assert links_in(note, "/preferences/")
    api = [
        client.post(SUBSCRIBE, {"email": f"{who}@example.org"}, content_type="application/json")
        for who in ("another-new", "pending", "active")
    ]
    assert api[0].content == api[1].content == api[2].content


def test_confirmation_mails_per_address_are_limited_with_a_clear_429(
    client, smtp_sink, newsletter, settings
):
    settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY = 3
    answers = [subscribe(client, "victim@example.org").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert len(mails_to(smtp_sink, "victim@example.org")) == 3
    throttled = subscribe(client, "victim@example.org")
    assert b"Too many subscription requests" in throttled.content
    api = client.post(SUBSCRIBE, {"email": "victim@example.org"}, content_type="application/json")
    assert api.status_code == 429
    assert "try again" in api.json()["message"]


def test_requests_per_ip_are_limited(client, smtp_sink, newsletter, settings):
    settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR = 4
    answers = [subscribe(client, f"person{n}@example.org").status_code for n in range(6)]
    assert answers == [200] * 4 + [429] * 2
    assert Subscriber.objects.count() == 4
    other_ip = Client(REMOTE_ADDR="192.0.2.7")
    assert subscribe(other_ip, "someone@example.org").status_code == 200


def test_forged_confirmation_token_gets_400_and_changes_nothing(client, smtp_sink, newsletter):
    subscribe(client)
    link = confirmation_path(smtp_sink)
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(reverse("subscribers:confirm", args=[forged]))
    assert response.status_code == 400
    assert b"This link does not work" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    # A token minted for another subscriber id fails too: the payload is signed.
    other = signing.dumps({"s": 999, "n": [newsletter.pk], "c": "x"}, salt="wrong")
    assert client.post(reverse("subscribers:confirm", args=[other])).status_code == 400


def test_expired_confirmation_token_gets_400_saying_so(client, newsletter):
    subscriber = services.subscribe("late@example.org", [newsletter])
    eight_days_ago = signing.time.time() - 8 * 86400
    with mock.patch.object(signing.time, "time", return_value=eight_days_ago):
        token = tokens.confirmation_token(
            subscriber.pk, [newsletter.pk], subscriber.confirmation_nonce
        )
    response = client.post(reverse("subscribers:confirm", args=[token]))
    assert response.status_code == 400
    assert b"expired" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_replayed_confirmation_after_unsubscribing_does_not_resubscribe(
    client, smtp_sink, newsletter
):
    subscriber = join(client, smtp_sink)
    old_link = confirmation_path(smtp_sink)
    # Replaying while subscribed just says so, and sends no second welcome.
    again = client.post(old_link)
    assert again.status_code == 200
    assert b"already subscribed" in again.content
    assert len(smtp_sink.messages) == 2

    services.unsubscribe(subscriber)
    replay = client.post(old_link)
    assert replay.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()


def test_one_click_unsubscribe_exactly_as_gmail_posts_it(smtp_sink, newsletter):
    person = Client()
    subscriber = join(person, smtp_sink)
    header = smtp_sink.messages[-1].message["List-Unsubscribe"]
    https_url = header.split(",")[0].strip(" <>")
    assert "mailto:" in header

    # Gmail's request: POST, form-encoded one-click body, no cookies, no CSRF token.
    gmail = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0 (compatible; Google)")
    response = gmail.post(
        path_of(https_url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.UNSUBSCRIBE).count() == 1
    # Idempotent: a second click (mail clients retry) is fine and records nothing new.
    again = gmail.post(
        path_of(https_url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert again.status_code == 200
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.UNSUBSCRIBE).count() == 1


def test_unsubscribe_link_get_asks_first_and_post_leaves_only_that_newsletter(
    client, smtp_sink, newsletter, second_newsletter
):
    join(client, smtp_sink, newsletter=newsletter.slug)
    subscriber = join(client, smtp_sink, newsletter=second_newsletter.slug)
    url = path_of(tokens.unsubscribe_url(subscriber.pk, newsletter.pk))
    page = client.get(url)
    assert page.status_code == 200
    assert b"Unsubscribe from The Weekly Byte?" in page.content
    assert b"Manage your preferences" in page.content
    assert services.recipients(newsletter.pk).exists()

    done = client.post(url)
    assert done.status_code == 200
    assert b"You are unsubscribed" in done.content
    assert not services.recipients(newsletter.pk).exists()
    assert list(services.recipients(second_newsletter.pk)) == [subscriber]


def test_forged_unsubscribe_and_preferences_tokens_get_400(client, newsletter):
    subscriber = services.subscribe("ada@example.org", [newsletter])
    good = tokens.unsubscribe_token(subscriber.pk, newsletter.pk)
    # Another person's id with the original signature, a preferences token in the wrong
    # place, and plain garbage: all refused without a change.
    tampered = signing.dumps([subscriber.pk + 1, newsletter.pk], salt="x")
    for token in [good[:-2] + "zz", tampered, tokens.preferences_token(subscriber.pk), "junk"]:
        assert client.post(f"/unsubscribe/{token}/").status_code == 400
    assert client.get(f"/preferences/{good}/").status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_resubscribing_after_unsubscribing_needs_a_new_confirmation(client, smtp_sink, newsletter):
    subscriber = join(client, smtp_sink)
    services.unsubscribe(subscriber)
    assert subscribe(client).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not services.recipients(newsletter.pk).exists()
    assert len(mails_to(smtp_sink, subscriber.email)) == 3  # confirm, welcome, confirm again

    client.post(confirmation_path(smtp_sink))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.consent_events.filter(action=ConsentEvent.Action.RESUBSCRIBE).exists()


def test_preferences_change_name_and_newsletters(client, smtp_sink, newsletter, second_newsletter):
    subscriber = join(client, smtp_sink, newsletter=newsletter.slug)
    url = path_of(tokens.preferences_url(subscriber.pk))
    page = client.get(url)
    assert page.status_code == 200
    assert b"Your preferences" in page.content

    response = client.post(
        url, {"action": "save", "name": "Ada L.", "newsletters": [second_newsletter.pk]}
    )
    assert response.status_code == 200
    assert b"Your preferences are saved" in response.content
    subscriber.refresh_from_db()
    assert subscriber.name == "Ada L."
    assert not services.recipients(newsletter.pk).exists()
    # An active subscriber proved their address already: the added newsletter starts now.
    assert list(services.recipients(second_newsletter.pk)) == [subscriber]


def test_preferences_unsubscribe_from_everything(client, smtp_sink, newsletter):
    subscriber = join(client, smtp_sink)
    response = client.post(
        path_of(tokens.preferences_url(subscriber.pk)), {"action": "unsubscribe_all"}
    )
    assert response.status_code == 200
    assert b"unsubscribed from everything" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not Subscription.objects.filter(status=Subscription.Status.ACTIVE).exists()


def test_download_my_data_is_json_with_everything_held(client, smtp_sink, newsletter):
    subscriber = join(client, smtp_sink)
    response = client.get(path_of(tokens.preferences_url(subscriber.pk)) + "?download=json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "ada@example.org"
    assert data["subscriptions"][0]["newsletter"] == newsletter.name
    assert {e["action"] for e in data["consent_events"]} == {"subscribe", "confirm"}


def test_delete_my_data_erases_and_blocks_reimport_but_not_own_opt_in(
    client, smtp_sink, newsletter
):
    from subscribers.csv_io import import_csv

    subscriber = join(client, smtp_sink)
    url = path_of(tokens.preferences_url(subscriber.pk))
    unconfirmed = client.post(url, {"action": "erase"})
    assert b"Tick the box" in unconfirmed.content
    assert Subscriber.objects.exists()

    response = client.post(url, {"action": "erase", "confirm_erase": "1"})
    assert response.status_code == 200
    assert b"Your data is deleted" in response.content
    assert not Subscriber.objects.exists()
    assert not ConsentEvent.objects.exclude(ip=None).exists()
    assert client.get(url).status_code == 400

    report = import_csv(b"email\nADA@example.org\n", newsletter)
    assert report.imported == 0
    assert "erased" in report.rejected[0].reason

    join(client, smtp_sink)  # the person themself may come back
    assert services.recipients(newsletter.pk).count() == 1


def test_behind_a_trusted_proxy_the_limit_is_per_visitor_not_per_proxy(
    client, smtp_sink, newsletter, settings
):
    settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR = 1
    settings.NUM_PROXIES = 1
    visitor = {"HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.4"}  # forged, then real
    assert client.post(SUBSCRIBE, {"email": "a@example.org"}, **visitor).status_code == 200
    assert client.post(SUBSCRIBE, {"email": "b@example.org"}, **visitor).status_code == 429
    other = {"HTTP_X_FORWARDED_FOR": "198.51.100.5"}
    assert client.post(SUBSCRIBE, {"email": "c@example.org"}, **other).status_code == 200
    ips = set(ConsentEvent.objects.values_list("ip", flat=True))
    assert ips == {"198.51.100.4", "198.51.100.5"}


def test_one_click_unsubscribe_as_the_rfc_8058_multipart_example(smtp_sink, newsletter):
    subscriber = join(Client(), smtp_sink)
    url = path_of(tokens.unsubscribe_url(subscriber.pk, newsletter.pk))
    # Client encodes a dict as multipart/form-data, the form of RFC 8058's own example.
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
