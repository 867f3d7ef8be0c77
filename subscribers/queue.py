"""The subscribers app's tasks, enqueued by name (``superfast.queue``): the contract with
``subscribers.tasks``, which nothing imports."""

from superfast.queue import enqueue

SEND_MAIL = "subscribers.tasks.send_subscriber_mail"
IMPORT = "subscribers.tasks.import_subscribers"


def enqueue_mail(kind: str, subscriber_id: int, newsletter_ids: list[int]) -> None:
    enqueue(SEND_MAIL, kind, subscriber_id, newsletter_ids)


def enqueue_import(job_id: int) -> None:
    enqueue(IMPORT, job_id)
