"""ESP webhooks as each ESP posts them: the payloads in their documented shapes, the shared
secret of the basic auth, Mailgun's signature, and an issue sent through anymail's test
backend whose deliveries the events name."""

import base64
import hashlib
import hmac
import json
import time

from django.core import mail
from django.test import override_settings

from issues.models import Delivery

from .delivery import make_subscribers
from .engagement import issue_linking_to, send_in_process

WEBHOOK_SECRET = "esp-hooks:a-long-shared-webhook-secret"
MAILGUN_KEY = "mailgun-webhook-signing-key-for-tests"
POSTMARK_URL = "/anymail/postmark/tracking/"
MAILGUN_URL = "/anymail/mailgun/tracking/"
LINK = "http://127.0.0.1:9/paper/1?from=mail&kind=pdf"
AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def basic_auth(secret=WEBHOOK_SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def sending_through(esp):
    """Only the ESP that sends our mail has its tracking webhook mounted."""
    return override_settings(EMAIL_BACKEND=f"anymail.backends.{esp}.EmailBackend")


def postmark_bounce(email, bounce_type="HardBounce", event_id=81000001, details=None):
    """A Postmark bounce webhook body, in the shape of Postmark's documentation."""
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": event_id,
        "Type": bounce_type,
        "TypeCode": 1 if bounce_type == "HardBounce" else 4096,
        "Name": "Hard bounce" if bounce_type == "HardBounce" else "Soft bounce",
        "Tag": "issue-7",
        "MessageID": "2f6c1f8e-3a51-4a8e-9d53-5b0f2c3e6a11",
        "Metadata": {"issue": "7"},
        "ServerID": 4711,
        "Description": "The receiving server could not deliver the message.",
        "Details": details or "smtp;550 5.1.1 The mailbox you tried to reach does not exist",
        "Email": email,
        "From": "weekly@news.example.org",
        "BouncedAt": "2026-11-20T09:15:00Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Issue 7: small servers, big lists",
    }


def mailgun_event(email, event="failed", severity="permanent", code=550, message=None):
    """A Mailgun webhook body (JSON with its signature block), signed with the test key."""
    timestamp, token = str(int(time.time())), hashlib.sha256(f"{email}{time.time_ns()}".encode())
    token = token.hexdigest()[:50]
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "id": "Ase7i2zsRYeDXztHGENqRA",
            "timestamp": float(timestamp),
            "log-level": "error" if severity == "permanent" else "warn",
            "event": event,
            "severity": severity,
            "reason": "bounce" if severity == "permanent" else "generic",
            "recipient": email,
            "recipient-domain": email.split("@")[1],
            "tags": ["issue-7"],
            "user-variables": {},
            "envelope": {"sender": "weekly@news.example.org", "transport": "smtp"},
            "delivery-status": {
                "code": code,
                "message": message or f"{code} 5.1.1 No such mailbox here",
                "description": "",
                "attempt-no": 1,
            },
            "message": {
                "headers": {
                    "to": email,
                    "message-id": "20261120091500.1.ABCDEF@news.example.org",
                    "from": "weekly@news.example.org",
                    "subject": "Issue 7: small servers, big lists",
                }
            },
        },
    }


def post(client, payload):
    with override_settings(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend"):
        auth = "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
        response = client.post(
            "/anymail/postmark/tracking/",
            json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )
    assert response.status_code == 200


def postmark(kind, row, **fields):
    """A Postmark webhook body of RecordType ``kind``, shaped as Postmark documents it."""
    common = {
        "RecordType": kind,
        "MessageStream": "outbound",
        "MessageID": row.message_id,
        "Recipient": row.subscriber.email,
        "Email": row.subscriber.email,
        "Tag": "",
        "Metadata": {},
        "ReceivedAt": "2026-11-30T09:15:00Z",
    }
    if kind == "Open":
        common |= {"FirstOpen": True, "Platform": "WebMail", "UserAgent": AGENT, "ReadSeconds": 5}
    if kind == "Click":
        common |= {"ClickLocation": "HTML", "Platform": "Desktop", "UserAgent": AGENT}
    if kind == "Delivery":
        common |= {"DeliveredAt": "2026-11-30T09:14:00Z", "Details": "smtp;250 2.0.0 OK"}
    if kind in ("Bounce", "SpamComplaint"):
        common |= {
            "ID": 4_200_000 + row.pk,
            "Type": "HardBounce" if kind == "Bounce" else "SpamComplaint",
            "TypeCode": 1 if kind == "Bounce" else 512,
            "Description": "The server could not deliver the message.",
            "Details": "smtp;550 5.1.1 The mailbox does not exist" if kind == "Bounce" else "",
            "BouncedAt": "2026-11-30T09:16:00Z",
            "Inactive": True,
            "CanActivate": True,
        }
    return common | fields


def sent_issue(**tracking):
    issue = issue_linking_to("http://127.0.0.1:9", sections=3, **tracking)
    make_subscribers(issue.newsletter, 3)
    send_in_process(issue)
    assert len(mail.outbox) == 3
    return issue, list(Delivery.objects.filter(issue=issue).order_by("id"))
