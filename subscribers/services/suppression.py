"""Suppression: bounces, complaints and ESP unsubscribes stop all mail to an address.

Every suppression and its reason is appended to ``SuppressionEvent``. ESP events arrive
normalized by anymail (``subscribers.tracking``); nothing here knows a vendor.
"""

from anymail.signals import EventType
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import ProcessedWebhookEvent, Source, Subscriber, Subscription, SuppressionEvent
from ..selectors import find_subscriber
from .addresses import canonical_email
from .consent import unsubscribe

# ESP events that stop mail at once, and the kind of suppression each records.
SUPPRESSING_EVENTS = {
    EventType.BOUNCED: SuppressionEvent.Kind.BOUNCE,
    EventType.COMPLAINED: SuppressionEvent.Kind.COMPLAINT,
    EventType.UNSUBSCRIBED: SuppressionEvent.Kind.ESP_UNSUBSCRIBE,
}

SUPPRESSED_STATUS: dict[str, str] = {
    SuppressionEvent.Kind.BOUNCE: Subscriber.Status.BOUNCED,
    SuppressionEvent.Kind.SOFT_BOUNCES: Subscriber.Status.BOUNCED,
    SuppressionEvent.Kind.COMPLAINT: Subscriber.Status.COMPLAINED,
    SuppressionEvent.Kind.ESP_UNSUBSCRIBE: Subscriber.Status.UNSUBSCRIBED,
    SuppressionEvent.Kind.MANUAL: Subscriber.Status.UNSUBSCRIBED,
}


def suppress(
    subscriber: Subscriber, kind: str, *, reason: str = "", esp_event: str = ""
) -> Subscriber:
    """Stop all mail to this subscriber and record why; pending links stop working too."""
    with transaction.atomic():
        SuppressionEvent.objects.create(
            subscriber=subscriber, kind=kind, esp_event=esp_event, reason=reason
        )
        status = SUPPRESSED_STATUS[kind]
        fields: dict[str, object] = {"status": status}
        if status == Subscriber.Status.UNSUBSCRIBED:
            fields["unsubscribed_at"] = timezone.now()
        Subscriber.objects.filter(pk=subscriber.pk).update(**fields)
        Subscription.objects.filter(subscriber=subscriber).update(confirmation_nonce="")
    subscriber.refresh_from_db()
    return subscriber


def unsuppress(subscriber: Subscriber, *, reason: str) -> Subscriber:
    """Let a suppressed address receive mail again (an editor's decision, with a reason).

    It receives again the newsletters it had confirmed; with none, it stays unsubscribed.
    """
    if not reason.strip():
        raise ValidationError("Give a reason for unsuppressing.")
    if subscriber.status in {Subscriber.Status.ACTIVE, Subscriber.Status.PENDING}:
        return subscriber  # nothing to lift
    with transaction.atomic():
        SuppressionEvent.objects.create(
            subscriber=subscriber, kind=SuppressionEvent.Kind.UNSUPPRESS, reason=reason
        )
        receives = subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
        subscriber.status = Subscriber.Status.ACTIVE if receives else Subscriber.Status.UNSUBSCRIBED
        subscriber.soft_bounces = 0
        subscriber.save(update_fields=["status", "soft_bounces"])
    return subscriber


@transaction.atomic
def handle_delivery_event(
    *,
    event_type: str,
    recipient: str,
    event_key: str | None = None,
    reason: str = "",
    soft: bool = False,
) -> str:
    """React to one normalized ESP event (anymail's ``event_type`` names).

    Hard bounces, complaints and ESP unsubscribes suppress at once; soft bounces count and
    ``SOFT_BOUNCE_LIMIT`` of them in a row suppress; a delivery resets the count. Events
    already seen (same ESP and event id) and events about unknown addresses change nothing.
    Returns what was done, for logs and tests.
    """
    kind = SUPPRESSING_EVENTS.get(event_type)
    if kind == SuppressionEvent.Kind.BOUNCE and soft:
        kind, event_type = None, EventType.DEFERRED
    if kind is None and event_type not in {EventType.DEFERRED, EventType.DELIVERED}:
        return "ignored"
    try:
        email = canonical_email(recipient)  # one stored before literals were refused too
    except ValidationError:
        return "ignored"
    if event_type == EventType.DELIVERED:
        Subscriber.objects.filter(email__iexact=email, soft_bounces__gt=0).update(soft_bounces=0)
        return "delivered"
    subscriber = find_subscriber(email)
    if subscriber is None:
        return "unknown recipient"
    if event_key:
        _, created = ProcessedWebhookEvent.objects.get_or_create(key=event_key[:255])
        if not created:
            return "duplicate"
    if kind is not None:
        if kind == SuppressionEvent.Kind.ESP_UNSUBSCRIBE:
            unsubscribe(subscriber, source=Source.ESP)
        suppress(subscriber, kind, reason=reason, esp_event=event_type)
        return f"suppressed: {kind}"
    if subscriber.is_suppressed:
        return "already suppressed"
    Subscriber.objects.filter(pk=subscriber.pk).update(soft_bounces=F("soft_bounces") + 1)
    subscriber.refresh_from_db(fields=["soft_bounces"])
    if subscriber.soft_bounces >= settings.SOFT_BOUNCE_LIMIT:
        suppress(
            subscriber,
            SuppressionEvent.Kind.SOFT_BOUNCES,
            reason=f"{subscriber.soft_bounces} soft bounces in a row. Last: {reason}",
            esp_event=event_type,
        )
        return "suppressed: soft_bounces"
    return "soft bounce counted"
