"""ESP events, as anymail normalizes them, turned into suppressions.

Vendor-neutral on purpose: anymail's webhook views (mounted at ``/anymail/``, guarded by
``ANYMAIL["WEBHOOK_SECRET"]`` basic auth and each ESP's signature) parse the payload, and
this receiver reads only the normalized event. Deliveries, opens and clicks belong to the
delivery ledger, which listens to the same signal itself.
"""

import logging
import re

from .services import handle_delivery_event

logger = logging.getLogger(__name__)

# An SMTP 4xx reply (or enhanced status 4.x.x) means the failure was temporary, whatever
# name the ESP gave the event.
TEMPORARY_SMTP_REPLY = re.compile(r"^\s*(4\d\d\b|4\.\d+\.\d+)")


def handle_tracking(sender, event, esp_name, **kwargs):
    reply = f"{event.mta_response or ''}"
    soft = bool(TEMPORARY_SMTP_REPLY.match(reply))
    reason = " ".join(
        str(part) for part in (event.reject_reason, event.description, event.mta_response) if part
    )
    outcome = handle_delivery_event(
        event_type=event.event_type,
        recipient=event.recipient,
        event_key=f"{esp_name}:{event.event_id}" if event.event_id else None,
        reason=reason[:2000],
        soft=soft,
    )
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)
