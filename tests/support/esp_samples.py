"""Anymail's own sample ESP events (tests/fixtures/esp), posted as each ESP posts them.

Each post goes to the real mounted webhook URL with the credentials the ESP would send:
basic auth always, plus the ESP's own signature (SendGrid's ECDSA, Mailgun's HMAC block,
Svix for Resend). The readers and deliveries are made to match the samples: every address
in a sample is an active reader, every message id a sent delivery.
"""

import base64
import hashlib
import hmac
import json
import re
import time
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import override_settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "esp"
SECRET = "esp-hooks:a-long-shared-webhook-secret"
MAILGUN_KEY = "mailgun-webhook-signing-key-for-tests"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret-for-tests").decode()
ESPS = ["postmark", "sendgrid", "mailgun", "amazon_ses", "brevo", "mailjet", "resend"]
ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}")


@cache
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def anymail_settings() -> dict:
    public = (
        sendgrid_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(public).decode(),
        "RESEND_SIGNING_SECRET": RESEND_SECRET,
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
    }


def sample_names(esp: str) -> list[str]:
    return sorted(path.stem for path in (FIXTURES / esp).glob("*.json"))


def load(esp: str, name: str):
    return json.loads((FIXTURES / esp / f"{name}.json").read_text())


def addresses_in(payload) -> set[str]:
    """Every address a sample names (recipients, and senders too: harmless as readers)."""
    text = json.dumps(payload).replace("\\n", " ")
    return {match.lower() for match in ADDRESS.findall(text)}


def basic_auth() -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}


def signed_mailgun(payload: dict) -> dict:
    """Mailgun signs a timestamp and token with the webhook signing key."""
    payload = json.loads(json.dumps(payload))
    block = payload.setdefault("signature", {})
    if "token" not in block:  # some samples leave the block to anymail's test to add
        block["timestamp"] = str(int(payload["event-data"]["timestamp"]))
        block["token"] = hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:50]
    digest = hmac.new(
        MAILGUN_KEY.encode(), f"{block['timestamp']}{block['token']}".encode(), hashlib.sha256
    )
    block["signature"] = digest.hexdigest()
    return payload


def headers_for(esp: str, body: bytes, payload) -> dict:
    """The headers the ESP sends with ``body`` beside basic auth."""
    if esp == "sendgrid":
        timestamp = str(int(time.time()))
        signature = sendgrid_key().sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
        }
    if esp == "resend":
        # Svix keeps one id per event across its retries; the samples have none of their own.
        event_id = "msg_" + hashlib.sha256(body).hexdigest()[:24]
        timestamp = str(int(time.time()))
        key = base64.b64decode(RESEND_SECRET.removeprefix("whsec_"))
        digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256)
        return {
            "HTTP_SVIX_ID": event_id,
            "HTTP_SVIX_TIMESTAMP": timestamp,
            "HTTP_SVIX_SIGNATURE": "v1," + base64.b64encode(digest.digest()).decode(),
        }
    if esp == "amazon_ses" and isinstance(payload, dict):
        return {
            "HTTP_X_AMZ_SNS_MESSAGE_TYPE": str(payload.get("Type")),
            "HTTP_X_AMZ_SNS_MESSAGE_ID": str(payload.get("MessageId")),
        }
    return {}


def post(client, esp: str, payload=None, *, body: bytes | None = None):
    """Post ``payload`` (or raw ``body``) to the tracking webhook of ``esp``, signed."""
    if body is None:
        body = json.dumps(signed_mailgun(payload) if esp == "mailgun" else payload).encode()
    content_type = "text/plain" if esp == "amazon_ses" else "application/json"
    with override_settings(
        EMAIL_BACKEND=f"anymail.backends.{esp}.EmailBackend", ANYMAIL=anymail_settings()
    ):
        return client.post(
            f"/anymail/{esp}/tracking/",
            body,
            content_type=content_type,
            **basic_auth(),
            **headers_for(esp, body, payload),
        )
