"""The importers' seam to Celery: tasks enqueued by name (``superfast.queue``), never imported."""

from superfast.queue import enqueue

LINK_PREVIEW = "issues.tasks.fetch_link_preview"


def enqueue_link_preview(url: str) -> None:
    enqueue(LINK_PREVIEW, url)
