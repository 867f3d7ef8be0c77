"""ESP events, as anymail normalizes them, turned into suppressions.

Anymail's webhook view of the sending ESP (mounted by ``superfast.webhooks``, guarded by
``ANYMAIL["WEBHOOK_SECRET"]`` basic auth and the ESP's signature) parses the payload, and
this receiver reads the normalized event. One thing anymail folds away: it reports every
bounce as ``BOUNCED``, whether the ESP called it hard, soft or transient. ``BOUNCE_KINDS``
reads the ESP's own call back from ``event.esp_event``; it is the only vendor knowledge
outside anymail. Deliveries, opens and clicks belong to the delivery ledger, which listens
to the same signal itself.
"""

import hashlib
import json
import logging
import re

from anymail.signals import EventType, RejectReason

from .services import BounceKind, handle_delivery_event

logger = logging.getLogger(__name__)

# The first SMTP reply code (550, 452) or enhanced status (5.1.1, 4.2.2) in the receiving
# server's answer: class 4 means the failure was temporary, whatever the ESP called it.
SMTP_STATUS = re.compile(r"\b([245])(?:\d\d|\.\d{1,3}\.\d{1,3})\b")

HARD, SOFT = BounceKind.HARD, BounceKind.SOFT
# Per ESP (anymail's ``esp_name``): where its payload says what kind of bounce this was,
# and what each value means. Delays never get here: anymail reports them as DEFERRED.
BOUNCE_KINDS: dict[str, tuple[tuple[str, ...], dict[object, BounceKind]]] = {
    "Postmark": (("Type",), {"HardBounce": HARD, "SoftBounce": SOFT, "Transient": SOFT}),
    "Brevo": (("event",), {"hard_bounce": HARD, "soft_bounce": SOFT}),
    "Amazon SES": (
        ("bounce", "bounceType"),
        {"Permanent": HARD, "Transient": SOFT, "Undetermined": SOFT},
    ),
    "Mailjet": (("hard_bounce",), {True: HARD, False: SOFT}),
    "SendGrid": (("type",), {"bounce": HARD, "blocked": SOFT}),
    "Resend": (("data", "bounce", "type"), {"Permanent": HARD, "Transient": SOFT}),
}

# Events where the ESP refused to even try, and what that means for the address.
REJECTED_AS = {
    RejectReason.INVALID: EventType.BOUNCED,  # the address is known bad: a hard bounce
    RejectReason.BOUNCED: EventType.BOUNCED,
    RejectReason.UNSUBSCRIBED: EventType.UNSUBSCRIBED,  # e.g. SendGrid "dropped"
    RejectReason.SPAM: EventType.COMPLAINED,
}


def is_temporary(mta_response) -> bool:
    match = SMTP_STATUS.search(mta_response or "")
    return bool(match) and match.group(1) == "4"


def bounce_kind(esp_name: str, event) -> BounceKind:
    """Hard or soft, as the ESP itself classified the bounce; the SMTP reply otherwise."""
    path, kinds = BOUNCE_KINDS.get(esp_name, ((), {}))
    value = event.esp_event
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if path and value in kinds:
        return kinds[value]
    return SOFT if is_temporary(event.mta_response) else HARD


def event_key(esp_name: str, event) -> str:
    """(ESP, event id or a hash of the event's content, recipient), hashed to fit the key.

    Brevo, Mailjet and Postmark's SubscriptionChange send no id: their repeats are identical
    posts. One SES notification names several recipients under one id.
    """
    identity = event.event_id or json.dumps(event.esp_event, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{identity}\n{(event.recipient or '').lower()}".encode())
    return f"{esp_name}:{digest.hexdigest()}"


def handle_tracking(sender, event, esp_name, **kwargs):
    event_type = event.event_type
    if event_type == EventType.REJECTED:
        event_type = REJECTED_AS.get(event.reject_reason, event_type)
    reason = " ".join(
        str(part) for part in (event.reject_reason, event.description, event.mta_response) if part
    )
    if event.event_type == EventType.REJECTED and event_type != EventType.REJECTED:
        reason = f"{esp_name} dropped the message: {reason}"
    outcome = handle_delivery_event(
        event_type=event_type,
        recipient=event.recipient,
        event_key=event_key(esp_name, event),
        reason=reason[:2000],
        bounce=bounce_kind(esp_name, event) if event_type == EventType.BOUNCED else None,
        at=event.timestamp,
    )
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)
