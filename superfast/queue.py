"""Enqueue a Celery task by its name: the one way any part of the project hands work over.

Each app keeps its task names in its own ``queue`` module (``issues.delivery.queue``,
``subscribers.queue``) and enqueues through ``enqueue``; nothing imports a ``tasks`` module,
so tasks may import anything without an import cycle, and the names are the contract.
"""

HEARTBEAT = "superfast.tasks.heartbeat"


def enqueue(name: str, *args: object, countdown: float = 0) -> None:
    from superfast.celery import app  # the app reads settings when first imported

    app.send_task(name, args=args, countdown=countdown or None)
