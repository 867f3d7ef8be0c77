"""ESP webhooks, posted in each ESP's documented format to anymail's real endpoints."""

import json

import pytest
from anymail.signals import tracking

from subscribers import services
from subscribers.models import ProcessedWebhookEvent, Subscriber, SuppressionEvent
from tests.support.subscribers import active_reader
from tests.support.webhooks import (
    MAILGUN_KEY,
    MAILGUN_URL,
    POSTMARK_URL,
    WEBHOOK_SECRET,
    basic_auth,
    mailgun_event,
    postmark_bounce,
    sending_through,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def esp_settings(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }


@pytest.fixture
def reader(newsletter):
    return active_reader(newsletter)


def post_postmark(client, payload, **auth):
    with sending_through("postmark"):
        return client.post(
            POSTMARK_URL,
            json.dumps(payload),
            content_type="application/json",
            **(auth or basic_auth()),
        )


def postmark_spam_complaint(email, event_id=81000002):
    return {
        **postmark_bounce(email, event_id=event_id),
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Description": "The subscriber marked this message as spam.",
        "Details": "",
        "CanActivate": False,
    }


def postmark_delivery(email):
    return {
        "RecordType": "Delivery",
        "ServerID": 4711,
        "MessageStream": "outbound",
        "MessageID": "9a0d2c77-0b7e-4c1e-8f35-7d1c5b2a9e40",
        "Recipient": email,
        "Tag": "issue-8",
        "DeliveredAt": "2026-11-21T09:15:00Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


def post_mailgun(client, payload):
    with sending_through("mailgun"):
        return client.post(
            MAILGUN_URL, json.dumps(payload), content_type="application/json", **basic_auth()
        )


def test_postmark_hard_bounce_suppresses_the_address(client, reader, newsletter):
    response = post_postmark(client, postmark_bounce("reader@example.net"))
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.BOUNCED
    assert not services.recipients(newsletter.pk).exists()
    event = reader.suppression_events.get()
    assert event.kind == SuppressionEvent.Kind.BOUNCE
    assert "5.1.1" in event.reason


def test_postmark_spam_complaint_suppresses_the_address(client, reader, newsletter):
    assert post_postmark(client, postmark_spam_complaint("Reader@Example.NET")).status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.COMPLAINED
    assert reader.suppression_events.get().kind == SuppressionEvent.Kind.COMPLAINT


def test_mailgun_permanent_failure_suppresses_the_address(client, reader, newsletter):
    assert post_mailgun(client, mailgun_event("reader@example.net")).status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.BOUNCED
    assert not services.recipients(newsletter.pk).exists()


def test_mailgun_unsubscribe_and_complaint_events_suppress(client, newsletter, reader):
    other = Subscriber.objects.create(email="other@example.net", status="active")
    for email, event in [
        ("reader@example.net", "unsubscribed"),
        ("other@example.net", "complained"),
    ]:
        assert post_mailgun(client, mailgun_event(email, event=event)).status_code == 200
    reader.refresh_from_db()
    other.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert reader.subscriptions.get().status == "unsubscribed"
    assert other.status == Subscriber.Status.COMPLAINED


def test_delays_never_count_and_final_soft_bounces_suppress_over_the_window(
    client, reader, settings
):
    settings.SOFT_BOUNCE_LIMIT, settings.SOFT_BOUNCE_WINDOW_DAYS = 3, 15
    temporary = {"severity": "temporary", "code": 452, "message": "452 4.2.2 Mailbox full"}
    for _ in range(3):  # Mailgun retries: a delay each time, never a bounce
        response = post_mailgun(client, mailgun_event("reader@example.net", **temporary))
        assert response.status_code == 200
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == ("active", 0)

    # Postmark calls a full mailbox a "SoftBounce": final for that message, counted.
    def soft_bounce(n, day):
        soft = postmark_bounce(
            "reader@example.net", "SoftBounce", 82000000 + n, "smtp;452 4.2.2 Mailbox full"
        )
        return {**soft, "BouncedAt": f"2026-11-{day:02d}T09:15:00Z"}

    for n, day in enumerate([1, 8, 15]):  # 14 days: not yet the window
        post_postmark(client, soft_bounce(n, day))
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == ("active", 3)
    post_postmark(client, soft_bounce(3, 16))
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.BOUNCED
    assert reader.suppression_events.get().kind == SuppressionEvent.Kind.SOFT_BOUNCES

    post_postmark(client, {**postmark_delivery("reader@example.net")})  # 2026-11-21
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == ("active", 0)


def test_duplicate_event_ids_are_ignored(client, reader, settings):
    settings.SOFT_BOUNCE_LIMIT = 5
    soft = postmark_bounce("reader@example.net", "SoftBounce", 83000000, "smtp;421 4.4.2 later")
    for _ in range(3):
        assert post_postmark(client, soft).status_code == 200
    reader.refresh_from_db()
    assert reader.soft_bounces == 1
    assert ProcessedWebhookEvent.objects.filter(key__startswith="Postmark:").count() == 1


def test_unknown_events_and_strangers_change_nothing(client, reader):
    novel = {"RecordType": "SomethingNew", "Email": "reader@example.net", "ID": 1}
    assert post_postmark(client, novel).status_code == 200
    assert post_postmark(client, postmark_bounce("stranger@example.net")).status_code == 200
    assert (
        post_mailgun(client, mailgun_event("reader@example.net", event="opened")).status_code == 200
    )
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert not SuppressionEvent.objects.exists()


def test_webhook_without_the_secret_is_rejected_and_changes_nothing(client, reader):
    with sending_through("postmark"):
        unauthenticated = client.post(
            POSTMARK_URL,
            json.dumps(postmark_bounce("reader@example.net")),
            content_type="application/json",
        )
    wrong = post_postmark(
        client, postmark_bounce("reader@example.net"), **basic_auth("esp-hooks:guess")
    )
    forged = mailgun_event("reader@example.net")
    forged["signature"]["signature"] = "0" * 64
    assert unauthenticated.status_code == 400
    assert wrong.status_code == 400
    assert post_mailgun(client, forged).status_code == 400
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE


def test_other_receivers_of_the_tracking_signal_get_the_same_events(client, reader):
    seen = []

    def ledger(sender, event, esp_name, **kwargs):
        seen.append((esp_name, event.event_type))

    tracking.connect(ledger, dispatch_uid="test-ledger")
    try:
        post_postmark(client, postmark_bounce("reader@example.net"))
    finally:
        tracking.disconnect(dispatch_uid="test-ledger")
    assert seen == [("Postmark", "bounced")]
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.BOUNCED


def test_esp_keys_come_from_anymail_environment_variables():
    import subprocess
    import sys

    from tests.support.processes import ROOT, child_env

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(sorted(settings.ANYMAIL.items()))",
        ],
        cwd=ROOT,
        env=child_env(ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY="from-env", ANYMAIL_WEBHOOK_SECRET="u:p"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "('MAILGUN_WEBHOOK_SIGNING_KEY', 'from-env')" in result.stdout, result.stderr
    assert "('WEBHOOK_SECRET', 'u:p')" in result.stdout
