"""The one seam between delivery and Celery: tasks are enqueued by name (``superfast.queue``).

Nothing in ``issues.delivery`` imports ``issues.tasks`` (which wraps this package), so there
is no import cycle; the task names below are the contract.
"""

from django.conf import settings

from superfast.queue import enqueue

PLAN = "issues.tasks.plan_dispatch"
SEND = "issues.tasks.send_dispatch"
TEST_COPIES = "issues.tasks.send_test_copies"


def enqueue_plan(dispatch_id: int) -> None:
    enqueue(PLAN, dispatch_id)


def enqueue_senders(dispatch_id: int, count: int | None = None, countdown: float = 0) -> None:
    for _ in range(count or settings.SEND_PARALLEL_TASKS):
        enqueue(SEND, dispatch_id, countdown=countdown)


def enqueue_test_copies(issue_id: int, addresses: list[str]) -> None:
    enqueue(TEST_COPIES, issue_id, list(addresses))
