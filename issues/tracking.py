"""ESP tracking events (anymail's normalized ``tracking`` signal) written to the ledger.

The subscribers app listens to the same signal to suppress the address; this side only
records what happened to the message, found by the ESP's message id.
"""

from anymail.signals import EventType, tracking
from django.dispatch import receiver

from .models import Delivery

UNDELIVERED = {EventType.BOUNCED, EventType.REJECTED, EventType.FAILED}


@receiver(tracking, dispatch_uid="issues.tracking.record_delivery_event")
def record_delivery_event(sender, event, esp_name, **kwargs):
    detail = event.description or event.mta_response or ""
    record_event(event.message_id, event.event_type, detail)


def record_event(message_id: str | None, event_type: str, detail: str = "") -> int:
    """Note the event on the delivery with this message id; returns how many rows changed.

    A bounce or rejection turns a ``sent`` row into ``failed`` with the ESP's reason, so
    the report's failures include mail the ESP accepted but could not deliver.
    """
    if not message_id:
        return 0
    rows = Delivery.objects.filter(message_id=str(message_id).strip().strip("<>"))
    if event_type in UNDELIVERED:
        reason = f"{event_type} (ESP): {detail}".strip().rstrip(":")
        return rows.update(esp_event=event_type, status=Delivery.Status.FAILED, last_error=reason)
    return rows.update(esp_event=event_type)
