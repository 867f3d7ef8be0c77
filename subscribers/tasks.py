"""Celery tasks: thin wrappers over ``subscribers.services``; they carry ids, never objects."""

from celery import shared_task
from django.conf import settings

from superfast.mail import retry_delay

from . import imports, services


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


# A million lines take minutes, not the default task's ten; a worker lost mid-way gives the
# task back (acks late) and the next one resumes after the last committed batch.
@shared_task(time_limit=6 * 3600)
def import_subscribers(job_id):
    """A CSV import started in the admin: streamed from storage, progress on the job row."""
    job = imports.import_stored_file(job_id)
    return job.summary() if job else None


@shared_task
def resume_stalled_imports():
    """Beat: hand imports whose worker died to a live one; they resume where they stopped."""
    return imports.resume_stalled_imports()
