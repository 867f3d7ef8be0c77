"""Celery tasks: thin wrappers over ``issues.delivery``; they carry ids, never objects.

``issues.delivery.queue`` enqueues them by name; nothing imports this module back.
"""

from celery import shared_task

from . import delivery, sequences
from .engagement import pseudonyms, recorder
from .importers import link_preview, platform_imports
from .models import Dispatch, Issue
from .reports.retention import compact_old_deliveries


@shared_task
def plan_dispatch(dispatch_id):
    """Plan the ledger, then start the sender tasks."""
    dispatch = Dispatch.objects.select_related("issue").get(pk=dispatch_id)
    planned = delivery.plan_dispatch(dispatch)
    dispatch.refresh_from_db()
    if dispatch.status == Dispatch.Status.SENDING:
        delivery.enqueue_senders(dispatch_id)
    return planned


@shared_task
def send_dispatch(dispatch_id):
    """Send batches for a while, then hand over to a fresh task (or one after a backoff)."""
    again_in = delivery.run_sender(dispatch_id)
    if again_in is not None:
        delivery.enqueue_senders(dispatch_id, count=1, countdown=again_in)
    return again_in


@shared_task
def sweep():
    """Beat: start due schedules, return expired claims, restart stalled dispatches."""
    return delivery.sweep()


@shared_task
def plan_welcome_steps():
    """Beat: plan the welcome emails that came due; their dispatches' senders send them."""
    return sequences.plan_due_steps()


@shared_task
def send_test_copies(issue_id, addresses):
    """Test copies asked for in the admin (addresses and allowance checked there)."""
    issue = Issue.objects.select_related("newsletter").filter(pk=issue_id).first()
    return delivery.send_test(issue, addresses) if issue else 0


@shared_task
def flush_engagement():
    """Beat: store buffered clicks and opens (acknowledged only once committed)."""
    return recorder.flush()


@shared_task
def compact_deliveries():
    """Beat, daily: roll up the ledgers of issues sent longer ago than the retention period."""
    return [(done.issue_id, done.rows) for done in compact_old_deliveries()]


@shared_task
def drop_reader_salts():
    """Beat, hourly: delete the reader salts of issues whose unique counts are final."""
    return pseudonyms.drop_final_salts()


@shared_task
def fetch_link_preview(url):
    """A pasted link's page fetched (through the one fetcher) for its title and note."""
    return link_preview.fetch_preview(url)


@shared_task
def import_platform_export(job_id):
    """An import from another platform started in the admin: posts, then readers."""
    job = platform_imports.run_platform_import(job_id)
    return job.status if job else None
