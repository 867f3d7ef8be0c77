"""Suppression: bounces, complaints and ESP unsubscribes stop all mail to an address.

Every suppression and its reason is appended to ``SuppressionEvent``. ESP events arrive
normalized by anymail (``subscribers.tracking``); nothing here knows a vendor.
"""

import enum
import uuid
from datetime import datetime, timedelta

from anymail.signals import EventType
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q
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
        current = Subscriber.objects.select_for_update().get(pk=subscriber.pk).status
        if kind == SuppressionEvent.Kind.MANUAL or STRENGTH[status] > STRENGTH[current]:
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
    return lift(subscriber, reason=reason)


def lift(subscriber: Subscriber, *, reason: str) -> Subscriber:
    """Record the lifting of a suppression and let the address receive what it confirmed."""
    with transaction.atomic():
        SuppressionEvent.objects.create(
            subscriber=subscriber, kind=SuppressionEvent.Kind.UNSUPPRESS, reason=reason
        )
        receives = subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
        subscriber.status = Subscriber.Status.ACTIVE if receives else Subscriber.Status.UNSUBSCRIBED
        subscriber.soft_bounces = 0
        subscriber.save(update_fields=["status", "soft_bounces"])
    return subscriber


class BounceKind(enum.StrEnum):
    """The ESP's own call on a bounce (``subscribers.tracking`` reads it per ESP)."""

    HARD = "hard"  # the address does not work: suppress at once
    SOFT = "soft"  # this message was finally not delivered; the address may still work


# How strongly each status stops mail: an event never weakens it (an ESP unsubscribe after
# a complaint leaves the address complained), whatever order the webhooks arrive in.
STRENGTH: dict[str, int] = {
    Subscriber.Status.PENDING: 0,
    Subscriber.Status.ACTIVE: 0,
    Subscriber.Status.UNSUBSCRIBED: 1,
    Subscriber.Status.BOUNCED: 2,
    Subscriber.Status.COMPLAINED: 3,
}


@transaction.atomic
def handle_delivery_event(
    *,
    event_type: str,
    recipient: str,
    event_key: str | None = None,
    reason: str = "",
    bounce: BounceKind | None = None,
    at: datetime | None = None,
) -> str:
    """React to one normalized ESP event (anymail's ``event_type`` names).

    Hard bounces, complaints and ESP unsubscribes suppress at once. A delay (DEFERRED) is
    never a bounce. Soft bounces are final failures of one message; they suppress by the
    policy of ``settle_soft_bounces``. A delivery makes older soft bounces stop counting.
    Events already seen (``event_key``) and events about unknown addresses change nothing.
    Returns what was done, for logs and tests.
    """
    kind = SUPPRESSING_EVENTS.get(event_type)
    soft = kind == SuppressionEvent.Kind.BOUNCE and bounce == BounceKind.SOFT
    if kind is None and event_type != EventType.DELIVERED:
        return "ignored"
    try:
        email = canonical_email(recipient)  # one stored before literals were refused too
    except ValidationError:
        return "ignored"
    subscriber = find_subscriber(email)
    if subscriber is None:
        return "unknown recipient"
    at = at or timezone.now()
    if event_type == EventType.DELIVERED:
        # Only ever later: a delivery reported late does not undo a newer one.
        Subscriber.objects.filter(pk=subscriber.pk).filter(
            Q(last_delivered_at__isnull=True) | Q(last_delivered_at__lt=at)
        ).update(last_delivered_at=at)
        return settle_soft_bounces(subscriber, reason)
    if event_key:
        _, created = ProcessedWebhookEvent.objects.get_or_create(
            key=event_key[:255],
            defaults={"subscriber": subscriber, "soft_bounce_at": at if soft else None},
        )
        if not created:
            return "duplicate"
    elif soft:
        ProcessedWebhookEvent.objects.create(
            key=f"unkeyed:{uuid.uuid4()}", subscriber=subscriber, soft_bounce_at=at
        )
    if soft:
        return settle_soft_bounces(subscriber, reason)
    assert kind is not None
    if kind == SuppressionEvent.Kind.ESP_UNSUBSCRIBE:
        unsubscribe(subscriber, source=Source.ESP)
    suppress(subscriber, kind, reason=reason, esp_event=event_type)
    return f"suppressed: {kind}"


def settle_soft_bounces(subscriber: Subscriber, reason: str = "") -> str:
    """Apply the soft-bounce policy to what is known now, in any order of arrival.

    The final soft bounces that count are those newer than the last delivery. At least
    ``SOFT_BOUNCE_LIMIT`` of them spanning at least ``SOFT_BOUNCE_WINDOW_DAYS`` suppress
    the address (a full mailbox for a weekend is not a dead address); a delivery newer
    than them lifts a suppression they caused, and nothing else.
    """
    subscriber.refresh_from_db()
    bounces = ProcessedWebhookEvent.objects.filter(
        subscriber=subscriber, soft_bounce_at__isnull=False
    )
    if subscriber.last_delivered_at:
        bounces = bounces.filter(soft_bounce_at__gt=subscriber.last_delivered_at)
    span = bounces.aggregate(
        count=Count("pk"), first=Min("soft_bounce_at"), last=Max("soft_bounce_at")
    )
    count = span["count"]
    Subscriber.objects.filter(pk=subscriber.pk).update(soft_bounces=count)
    subscriber.soft_bounces = count
    window = timedelta(days=settings.SOFT_BOUNCE_WINDOW_DAYS)
    if count >= settings.SOFT_BOUNCE_LIMIT and span["last"] - span["first"] >= window:
        if subscriber.is_suppressed:
            return "already suppressed"
        suppress(
            subscriber,
            SuppressionEvent.Kind.SOFT_BOUNCES,
            reason=f"{count} final soft bounces over {(span['last'] - span['first']).days} "
            f"days, none delivered since. Last: {reason}",
            esp_event=EventType.BOUNCED,
        )
        return "suppressed: soft_bounces"
    latest = subscriber.suppression_events.first()
    if (
        subscriber.status == Subscriber.Status.BOUNCED
        and latest is not None
        and latest.kind == SuppressionEvent.Kind.SOFT_BOUNCES
    ):
        lift(subscriber, reason="The ESP delivered to this address after its soft bounces.")
        return "soft-bounce suppression lifted"
    return f"{count} soft bounces counted"
