"""Through an ESP (anymail's test backend): Django's mail API, ids kept, webhooks recorded."""

import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail

from issues import delivery
from issues.models import Dispatch
from issues.reports import delivery as delivery_reports
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def esp(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}}


def test_an_esp_backend_sends_each_recipient_with_headers_and_keeps_its_message_id(esp):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 3)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in readers)
    first = mail.outbox[0]
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in first.extra_headers["List-Unsubscribe"]
    assert "%%" not in first.body and "%%" not in first.alternatives[0][0]
    ids = set(dispatch.deliveries.values_list("message_id", flat=True))
    assert len(ids) == 3 and "" not in ids


def test_a_bounce_webhook_marks_the_delivery_failed_with_the_reason(esp):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 2)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)
    bounced, delivered = dispatch.deliveries.order_by("id")

    for row, kind in [(bounced, "bounced"), (delivered, "delivered")]:
        event = AnymailTrackingEvent(
            event_type=kind,
            message_id=row.message_id,
            recipient=row.subscriber.email,
            description="Mailbox does not exist" if kind == "bounced" else None,
        )
        tracking.send(sender=object, event=event, esp_name="Test")

    bounced.refresh_from_db()
    delivered.refresh_from_db()
    assert (bounced.status, bounced.esp_event) == ("failed", "bounced")
    assert "Mailbox does not exist" in bounced.last_error
    assert (delivered.status, delivered.esp_event) == ("sent", "delivered")
    report = delivery_reports.report(issue)
    assert report["events"] == {"bounced": 1, "delivered": 1}


def test_with_a_merge_field_syntax_a_batch_is_one_esp_call_with_per_recipient_data(esp, settings):
    settings.SEND_ESP_MERGE_FIELD = "%recipient.{}%"
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 3)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)

    (sent,) = mail.outbox
    assert sorted(sent.to) == sorted(r.email for r in readers)
    # The merge fields carry the render's random key, as its markers do: content cannot
    # name one.
    key = issue.snapshot.marker_key
    unsubscribe, preferences = f"unsubscribe_url_{key}", f"preferences_url_{key}"
    assert f"%recipient.{unsubscribe}%" in sent.body and "%%" not in sent.body
    assert f"%recipient.{preferences}%" in sent.alternatives[0][0]
    for reader in readers:
        data = sent.merge_data[reader.email]
        assert (
            f"/unsubscribe/{data[unsubscribe].split('/unsubscribe/')[1]}"
            in (sent.merge_headers[reader.email]["List-Unsubscribe"])
        )
        assert "/preferences/" in data[preferences]
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert dispatch.deliveries.filter(status="sent").count() == 3
    assert "" not in set(dispatch.deliveries.values_list("message_id", flat=True))


def test_an_ses_send_arriving_after_its_delivery_leaves_the_row_delivered(esp, client):
    """Anymail's own SES samples, posted to the SES webhook: the Send came in late."""
    from tests.support import esp_samples

    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 1)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)
    row = dispatch.deliveries.get()
    samples = [esp_samples.load("amazon_ses", name) for name in ["delivery_event", "send_event"]]
    for sample in samples:  # both about this row's message
        message = json.loads(sample["Message"])
        message["mail"]["messageId"] = row.message_id
        sample["Message"] = json.dumps(message)
        assert esp_samples.post(client, "amazon_ses", sample).status_code == 200
    row.refresh_from_db()
    assert (row.status, row.esp_event) == ("sent", "delivered")
    assert row.delivered_at is not None
