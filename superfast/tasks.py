"""Tasks of the project itself, not of one app."""

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task
def heartbeat(worker="worker"):
    """Record that a worker took a task: /healthz shows when one last did."""
    WorkerHeartbeat.objects.update_or_create(name=worker, defaults={"seen_at": timezone.now()})
    return worker
