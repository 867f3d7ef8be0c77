"""Reads of the audience, apart from the writes in ``subscribers.services``.

``issues`` reaches its recipients through here (by way of ``services.recipients``); nothing
in this module changes a row.
"""

from django.db.models import QuerySet

from .models import Subscriber, Subscription


def newsletter_model():
    """The Newsletter model, reached through our own foreign key (we never import issues)."""
    return Subscription._meta.get_field("newsletter").related_model


def recipients(newsletter_id: int) -> QuerySet[Subscriber]:
    """Subscribers who may receive an issue of this newsletter: confirmed and not suppressed.

    A queryset, so callers can stream it in chunks (``.iterator(chunk_size=...)``).
    """
    return Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
    )


def confirmed_between(newsletter_id: int, after, until) -> QuerySet[Subscriber]:
    """Recipients of the newsletter whose subscription to it was confirmed in
    [``after``, ``until``]: the readers a welcome email is due to (one join, as recipients)."""
    return Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
        subscriptions__confirmed_at__gte=after,
        subscriptions__confirmed_at__lte=until,
    )


def find_subscriber(email: str) -> Subscriber | None:
    return Subscriber.objects.filter(email__iexact=email).first()


def active_newsletter_ids(subscriber: Subscriber) -> set[int]:
    return set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
            "newsletter_id", flat=True
        )
    )


def receives_all(subscriber: Subscriber, newsletter_ids) -> bool:
    """Whether the subscriber already receives every one of ``newsletter_ids``."""
    return subscriber.status == Subscriber.Status.ACTIVE and set(newsletter_ids) <= (
        active_newsletter_ids(subscriber)
    )


def pending_newsletter_ids(subscriber: Subscriber) -> list[int]:
    return list(
        subscriber.subscriptions.filter(status=Subscription.Status.PENDING).values_list(
            "newsletter_id", flat=True
        )
    )


def awaiting_confirmation(subscriber: Subscriber, newsletter_ids, nonce: str) -> QuerySet:
    """The subscriptions a confirmation link (its newsletters, its nonce) may still confirm."""
    if not nonce:
        return Subscription.objects.none()
    return subscriber.subscriptions.filter(
        newsletter_id__in=list(newsletter_ids),
        status=Subscription.Status.PENDING,
        confirmation_nonce=nonce,
    )


def received_newsletter_ids(subscriber: Subscriber) -> set[int]:
    """Newsletters the subscriber receives or waits to confirm (all but those left)."""
    return set(
        subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED).values_list(
            "newsletter_id", flat=True
        )
    )
