"""Manage and leave through HTTP; the mailed steps are in test_join_and_leave_by_mail.py,
against a worker."""

import json
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from subscribers import services, tokens
from subscribers.models import ConsentEvent, Subscriber, Subscription
from tests.support.subscribers import join_directly, path_of

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscribe/"


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


def test_subscriber_pages_carry_the_site_name_like_the_archive(client, newsletter):
    response = client.post(SUBSCRIBE, {"email": "ada@example.org"})
    assert response.status_code == 200
    assert f'height="28">{newsletter.name}</a>' in response.text  # the header's site name
    assert f"<title>Check your inbox · {newsletter.name}</title>" in response.text


def test_several_newsletters_need_a_choice_and_get_separate_subscriptions(
    client, newsletter, second_newsletter
):
    assert client.post(SUBSCRIBE, {"email": "ada@example.org"}).status_code == 400
    subscriber = join_directly("ada@example.org", [second_newsletter])
    assert list(services.recipients(second_newsletter.pk)) == [subscriber]
    assert not services.recipients(newsletter.pk).exists()
    # Subscribing an active address to a second newsletter asks to confirm that one too.
    join_directly("ada@example.org", [newsletter])
    assert list(services.recipients(newsletter.pk)) == [subscriber]


def test_requests_per_ip_are_limited(client, newsletter, settings):
    settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR = 4
    answers = [
        client.post(SUBSCRIBE, {"email": f"person{n}@example.org"}).status_code for n in range(6)
    ]
    assert answers == [200] * 4 + [429] * 2
    assert Subscriber.objects.count() == 4
    other_ip = Client(REMOTE_ADDR="192.0.2.7")
    assert other_ip.post(SUBSCRIBE, {"email": "someone@example.org"}).status_code == 200


def test_expired_confirmation_token_gets_400_saying_so(client, newsletter):
    subscriber = services.subscribe("late@example.org", [newsletter])
    eight_days_ago = signing.time.time() - 8 * 86400
    with mock.patch.object(signing.time, "time", return_value=eight_days_ago):
        nonce = subscriber.subscriptions.get().confirmation_nonce
        token = tokens.confirmation_token(subscriber.pk, [newsletter.pk], nonce)
    response = client.post(reverse("subscribers:confirm", args=[token]))
    assert response.status_code == 400
    assert b"expired" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_unsubscribe_link_get_asks_first_and_post_leaves_only_that_newsletter(
    client, newsletter, second_newsletter
):
    join_directly("ada@example.org", [newsletter])
    subscriber = join_directly("ada@example.org", [second_newsletter])
    url = path_of(tokens.unsubscribe_url(subscriber.pk, newsletter.pk))
    page = client.get(url)
    assert page.status_code == 200
    assert b"Unsubscribe from The Weekly?" in page.content
    assert b"/preferences/" not in page.content  # the token only unsubscribes
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


def test_preferences_change_name_and_newsletters(client, newsletter, second_newsletter):
    subscriber = join_directly("ada@example.org", [newsletter])
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


def test_preferences_unsubscribe_from_everything(client, newsletter):
    subscriber = join_directly("ada@example.org", [newsletter])
    response = client.post(
        path_of(tokens.preferences_url(subscriber.pk)), {"action": "unsubscribe_all"}
    )
    assert response.status_code == 200
    assert b"unsubscribed from everything" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert not Subscription.objects.filter(status=Subscription.Status.ACTIVE).exists()


def test_download_my_data_is_json_with_everything_held(client, newsletter):
    subscriber = join_directly("ada@example.org", [newsletter])
    response = client.get(path_of(tokens.preferences_url(subscriber.pk)) + "?download=json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "ada@example.org"
    assert data["subscriptions"][0]["newsletter"] == newsletter.name
    assert {e["action"] for e in data["consent_events"]} == {
        "Subscribed (unconfirmed)",
        "Confirmed",
    }


def test_delete_my_data_erases_and_blocks_reimport_but_not_own_opt_in(client, newsletter):
    from subscribers.imports import import_csv

    subscriber = join_directly("ada@example.org", [newsletter])
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

    join_directly("ada@example.org", [newsletter])  # the person themself may come back
    assert services.recipients(newsletter.pk).count() == 1


def test_behind_a_trusted_proxy_the_limit_is_per_visitor_not_per_proxy(
    client, newsletter, settings
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


def test_one_click_unsubscribe_as_the_rfc_8058_multipart_example(newsletter):
    subscriber = join_directly("ada@example.org", [newsletter])
    url = path_of(tokens.unsubscribe_url(subscriber.pk, newsletter.pk))
    # Client encodes a dict as multipart/form-data, the form of RFC 8058's own example.
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
