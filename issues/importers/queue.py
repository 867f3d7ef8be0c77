"""The importers' seam to Celery: tasks enqueued by name (``superfast.queue``), never imported."""

from superfast.queue import enqueue

LINK_PREVIEW = "issues.tasks.fetch_link_preview"


def enqueue_link_preview(url: str) -> None:
    enqueue(LINK_PREVIEW, url)


PLATFORM_IMPORT = "issues.tasks.import_platform_export"


def enqueue_platform_import(job_id: int) -> None:
    enqueue(PLATFORM_IMPORT, job_id)
