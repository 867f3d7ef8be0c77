"""ESP tracking events (anymail's normalized ``tracking`` signal) written to the ledger.

The subscribers app listens to the same signal to suppress the address; this side records
what happened to the message, found by the ESP's message id: delivered, bounced and
complained on the delivery row (each time kept once), opened and clicked as engagement
(``issues.engagement.esp``, merged with our own tracking without counting twice).
"""

from datetime import datetime

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver
from django.utils import timezone

from ..engagement.esp import record_esp_engagement
from ..models import Delivery

UNDELIVERED = {EventType.BOUNCED, EventType.REJECTED, EventType.FAILED}
ENGAGEMENT = {EventType.OPENED, EventType.CLICKED}
# How far along a message is: a row's ESP status only moves forward, so an event that
# arrives late (SES's "Send" after its "Delivery") leaves the newer one in place.
PROGRESS = [
    [EventType.QUEUED, EventType.SENT],
    [EventType.DEFERRED],
    [EventType.DELIVERED],
    [EventType.BOUNCED, EventType.REJECTED, EventType.FAILED],
    [EventType.COMPLAINED, EventType.UNSUBSCRIBED],
]
STAGE = {event_type: stage for stage, events in enumerate(PROGRESS) for event_type in events}
FIRST_TIME = {
    EventType.DELIVERED: "delivered_at",
    EventType.BOUNCED: "bounced_at",
    EventType.COMPLAINED: "complained_at",
}


@receiver(tracking, dispatch_uid="issues.delivery.esp_events.record_delivery_event")
def record_delivery_event(
    sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object
) -> None:
    if event.event_type in ENGAGEMENT:
        if event.message_id:
            record_esp_engagement(event, esp_name, clean_id(event.message_id))
        return
    detail = event.description or event.mta_response or ""
    record_event(event.message_id, event.event_type, detail, at=event.timestamp)


def clean_id(message_id: object) -> str:
    return str(message_id).strip().strip("<>")


def record_event(
    message_id: str | None, event_type: str, detail: str = "", at: datetime | None = None
) -> int:
    """Note the event on the delivery with this message id; returns how many rows changed.

    A bounce or rejection turns a ``sent`` row into ``failed`` with the ESP's reason, so
    the report's failures include mail the ESP accepted but could not deliver. The row's
    ``esp_event`` never moves back a stage (``PROGRESS``).
    """
    if not message_id:
        return 0
    rows = Delivery.objects.filter(message_id=clean_id(message_id))
    if field := FIRST_TIME.get(event_type):
        rows.filter(**{f"{field}__isnull": True}).update(**{field: at or timezone.now()})
    stage = STAGE.get(event_type, 0)
    later = [later for events in PROGRESS[stage + 1 :] for later in events]
    rows = rows.exclude(esp_event__in=later)
    if event_type in UNDELIVERED:
        reason = f"{event_type} (ESP): {detail}".strip().rstrip(":")
        return rows.update(esp_event=event_type, status=Delivery.Status.FAILED, last_error=reason)
    return rows.update(esp_event=event_type)
