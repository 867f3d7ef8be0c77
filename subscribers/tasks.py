"""Celery tasks: thin wrappers over ``subscribers.services``; they carry ids, never objects."""

from celery import shared_task
from django.conf import settings

from superfast.mail import retry_delay

from . import services


@shared_task(bind=True)
def send_subscriber_mail(self, kind, subscriber_id, newsletter_ids=()):
    """Confirmation, welcome or already-subscribed mail; transient failures retry with backoff."""
    try:
        return services.send_subscriber_mail(kind, subscriber_id, newsletter_ids)
    except services.TransientMailError as error:
        raise self.retry(
            exc=error,
            countdown=retry_delay(self.request.retries + 1),
            max_retries=settings.SEND_MAX_ATTEMPTS - 1,
        ) from error
