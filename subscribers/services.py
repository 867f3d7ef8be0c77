"""The audience's flows as plain functions: views, admin, webhooks and tasks call these."""

from .models import Subscriber, Subscription


def recipients(newsletter_id):
    """Subscribers who may receive an issue of this newsletter: confirmed and not suppressed.

    A queryset, so callers can stream it in chunks (``.iterator(chunk_size=...)``).
    """
    return Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
    )
