"""Finding 1: nobody may suppress or unsubscribe a reader by posting a forged ESP event.

Each attack posts the ESP's real webhook payload to the app's URL, as an outsider would.
"""

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from subscribers.models import Subscriber
from tests.support.subscribers import active_reader
from tests.support.webhooks import (
    MAILGUN_KEY,
    WEBHOOK_SECRET,
    basic_auth,
    mailgun_event,
    postmark_bounce,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(newsletter):
    return active_reader(newsletter)


def sendgrid_events(email, event):
    """A SendGrid Event Webhook body: a JSON list of events (SendGrid's documented shape)."""
    return [
        {
            "email": email,
            "timestamp": 1763630100,
            "event": event,
            "sg_event_id": f"sg-{event}-event-0001",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        }
    ]


def post_json(client, url, payload, **headers):
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def still_active(reader):
    reader.refresh_from_db()
    return reader.status == Subscriber.Status.ACTIVE and not reader.suppression_events.exists()


def test_unauthenticated_postmark_hard_bounce_suppresses_nobody(client, reader, settings):
    """docker-compose used to leave the secret empty: anymail then accepts every post."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}
    response = post_json(client, "/anymail/postmark/tracking/", postmark_bounce(reader.email))
    assert response.status_code != 200
    assert still_active(reader)


def test_sendgrid_spamreport_to_a_site_sending_through_postmark_finds_no_url(
    client, reader, settings
):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": WEBHOOK_SECRET}
    response = post_json(
        client,
        "/anymail/sendgrid/tracking/",
        sendgrid_events(reader.email, "spamreport"),
        **basic_auth(),
    )
    assert response.status_code == 404
    assert still_active(reader)


def test_forged_mailgun_unsubscribed_event_unsubscribes_nobody(client, reader, settings):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }
    forged = mailgun_event(reader.email, event="unsubscribed")
    forged["signature"]["signature"] = hmac.new(
        b"a-guessed-key",
        f"{forged['signature']['timestamp']}{forged['signature']['token']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    response = post_json(client, "/anymail/mailgun/tracking/", forged, **basic_auth())
    assert response.status_code == 400
    assert still_active(reader)


def test_mailgun_event_signed_with_the_signing_key_unsubscribes(client, reader, settings):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }
    signed = mailgun_event(reader.email, event="unsubscribed")  # signed with MAILGUN_KEY
    response = post_json(client, "/anymail/mailgun/tracking/", signed, **basic_auth())
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED


def test_mailgun_without_its_signing_key_refuses_even_with_the_basic_auth_secret(
    client, reader, settings, caplog
):
    """Anymail would fall back to the sending API key; we want the signing key itself."""
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_API_KEY": MAILGUN_KEY}
    signed = mailgun_event(reader.email, event="complained")
    response = post_json(client, "/anymail/mailgun/tracking/", signed, **basic_auth())
    assert response.status_code == 403
    assert b"ANYMAIL" not in response.content  # the log names it, for the operator
    assert "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY" in caplog.text
    assert still_active(reader)


@pytest.fixture
def sendgrid_key_pair():
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


def sendgrid_signature(private, timestamp, body):
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def post_signed(client, url, body, private_key):
    """A post as SendGrid's Signed Event Webhook sends it: signature and timestamp headers."""
    timestamp = str(int(time.time()))
    signature = sendgrid_signature(private_key, timestamp, body)
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
        **basic_auth(),
    )


def test_sendgrid_events_need_a_valid_signature(client, reader, settings, sendgrid_key_pair):
    private, public = sendgrid_key_pair
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": public,
    }
    url = "/anymail/sendgrid/tracking/"
    body = json.dumps(sendgrid_events(reader.email, "spamreport")).encode()

    other_key = ec.generate_private_key(ec.SECP256R1())
    forged = post_signed(client, url, body, other_key)
    unsigned = client.post(url, body, content_type="application/json", **basic_auth())
    assert forged.status_code == 400 and unsigned.status_code == 400
    assert still_active(reader)

    genuine = post_signed(client, url, body, private)
    assert genuine.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.COMPLAINED


def test_sendgrid_without_its_verification_key_refuses_events(client, reader, settings):
    """Anymail skips SendGrid's signature check when no key is set: we refuse instead."""
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    response = post_json(
        client,
        "/anymail/sendgrid/tracking/",
        sendgrid_events(reader.email, "spamreport"),
        **basic_auth(),
    )
    assert response.status_code == 403
    assert still_active(reader)
