"""Signed, unguessable links that act for one subscriber without a login."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "subscribers.unsubscribe"
PREFERENCES_SALT = "subscribers.preferences"


def unsubscribe_token(subscriber_id, newsletter_id):
    return signing.dumps([subscriber_id, newsletter_id], salt=UNSUBSCRIBE_SALT, compress=True)


def preferences_token(subscriber_id):
    return signing.dumps(subscriber_id, salt=PREFERENCES_SALT)


def unsubscribe_url(subscriber_id, newsletter_id):
    """Absolute URL of the one-click unsubscribe endpoint (RFC 8058) for this pair."""
    path = reverse(
        "subscribers:unsubscribe", args=[unsubscribe_token(subscriber_id, newsletter_id)]
    )
    return settings.SITE_URL + path


def preferences_url(subscriber_id):
    path = reverse("subscribers:preferences", args=[preferences_token(subscriber_id)])
    return settings.SITE_URL + path
