"""ESP events, as anymail normalizes them, turned into suppressions.

Vendor-neutral on purpose: anymail's webhook view of the sending ESP (mounted by
``superfast.webhooks``, guarded by ``ANYMAIL["WEBHOOK_SECRET"]`` basic auth and the ESP's
signature) parses the payload, and this receiver reads only the normalized event.
Deliveries, opens and clicks belong to the delivery ledger, which listens to the same
signal itself.
"""

import logging
import re

from anymail.signals import EventType, RejectReason

from .services import handle_delivery_event

logger = logging.getLogger(__name__)

# The first SMTP reply code (550, 452) or enhanced status (5.1.1, 4.2.2) in the receiving
# server's answer: class 4 means the failure was temporary, whatever the ESP called it.
SMTP_STATUS = re.compile(r"\b([245])(?:\d\d|\.\d{1,3}\.\d{1,3})\b")


def is_temporary(mta_response):
    match = SMTP_STATUS.search(mta_response or "")
    return bool(match) and match.group(1) == "4"


def handle_tracking(sender, event, esp_name, **kwargs):
    event_type = event.event_type
    if event_type == EventType.REJECTED and event.reject_reason in {
        RejectReason.INVALID,
        RejectReason.BOUNCED,
    }:
        # The ESP refused to even try: the address is known bad, as good as a hard bounce.
        event_type = EventType.BOUNCED
    reason = " ".join(
        str(part) for part in (event.reject_reason, event.description, event.mta_response) if part
    )
    outcome = handle_delivery_event(
        event_type=event_type,
        recipient=event.recipient,
        event_key=f"{esp_name}:{event.event_id}" if event.event_id else None,
        reason=reason[:2000],
        soft=is_temporary(event.mta_response),
    )
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)
