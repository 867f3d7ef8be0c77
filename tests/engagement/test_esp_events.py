"""ESP webhooks (Postmark's documented payloads) reach the delivery and the engagement
figures: delivered, bounced and complained once each; opens and clicks merged with ours,
never counted twice, however often the ESP retries."""

import base64
import json

import pytest
from django.core import mail
from django.test import override_settings

from issues.models import Delivery, Open
from issues.reports.engagement import issue_engagement
from tests.support.delivery import make_subscribers
from tests.support.engagement import issue_linking_to, send_in_process

SECRET = "esp-hooks:a-long-shared-webhook-secret"
LINK = "http://127.0.0.1:9/paper/1?from=mail&kind=pdf"
AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


@pytest.fixture
def esp(settings, db, click_buffer):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}, "WEBHOOK_SECRET": SECRET}


def post(client, payload):
    with override_settings(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend"):
        auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
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


def test_without_our_tracking_the_esp_s_events_are_counted_once_each(client, esp):
    issue, (first, second, third) = sent_issue(track_clicks=False)
    assert "/c/" not in mail.outbox[0].alternatives[0][0]  # links left as written
    for payload in [
        postmark("Delivery", first),
        postmark("Delivery", first, DeliveredAt="2026-11-30T10:00:00Z"),
        postmark("Delivery", second),
        postmark("Bounce", third),
        postmark("SpamComplaint", second),
        postmark("Open", first),
        postmark("Open", first),  # the same webhook, retried
        postmark("Open", second, ReceivedAt="2026-11-30T11:00:00Z"),
        postmark("Click", first, OriginalLink=LINK),
        postmark("Click", first, OriginalLink=LINK),  # retried
        postmark("Click", second, OriginalLink=LINK, ReceivedAt="2026-11-30T12:00:00Z"),
    ]:
        post(client, payload)

    figures = issue_engagement(issue)
    assert (figures.sent, figures.delivered, figures.bounced, figures.complained) == (3, 2, 1, 1)
    assert (figures.opens_estimated, figures.unique_openers_estimated) == (2, 2)
    assert (figures.human_clicks, figures.unique_clickers, figures.machine_clicks) == (2, 2, 0)
    assert [(f.url, f.clicks, f.unique) for f in figures.links[:1]] == [(LINK, 2, 2)]
    first.refresh_from_db()
    assert first.esp_event == "delivered"  # an open does not hide that it was delivered


def test_with_our_own_tracking_on_the_esp_s_opens_and_clicks_are_not_counted_again(client, esp):
    issue, (first, _, _) = sent_issue(track_clicks=True, track_opens=True)
    post(client, postmark("Open", first))
    post(client, postmark("Click", first, OriginalLink=LINK))
    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.opens_estimated) == (0, 0)
    assert not Open.objects.exists()
