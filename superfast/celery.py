"""The Celery app: ``celery -A superfast worker`` and ``celery -A superfast beat``.

Each setting below is here because reliable delivery needs it; see the comment beside it.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")

from django.conf import settings  # noqa: E402  (the settings module must be chosen first)

app = Celery("superfast")


def broker_transport_options(url: str) -> dict:
    """Options for the transport ``url`` names: Redis, RabbitMQ (amqp) or the embedded one."""
    scheme = url.split("://", 1)[0].lower()
    if scheme.startswith("sqla+"):
        # Imported here: it loads SQLAlchemy, a third of a second of every process's start
        # (workers, manage.py) that only the embedded broker needs.
        from kombu.transport.sqlalchemy import Transport as SqlaTransport

        # kombu hands every option of this transport to SQLAlchemy's create_engine, so the
        # polling interval cannot be one: it is the transport's (1 s by default, which would
        # delay each step of a send by up to a second). SQLite waits for a lock this long.
        SqlaTransport.polling_interval = 0.1
        return {"connect_args": {"timeout": 30}} if scheme == "sqla+sqlite" else {}
    if scheme == "filesystem":
        folder = settings.CELERY_BROKER_FOLDER
        (folder / "control").mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            # Otherwise the broadcast tables land in ./control of whatever the current folder is.
            "control_folder": str(folder / "control"),
            # The transport polls the folder; kombu's 1 s default delays every mail a second.
            "polling_interval": 0.1,
        }
    if scheme in {"amqp", "amqps", "pyamqp"}:
        # Publisher confirms: enqueueing returns once RabbitMQ has the task, so a send the
        # admin reported as started cannot vanish in a broker crash.
        return {"confirm_publish": True}
    # Redis: longer than any task may run: Redis hands an unacknowledged task to another
    # worker after this long, so a shorter value would send a batch twice. (Sender tasks
    # wait at most a minute for their countdown: issues.delivery.sender.)
    return {"visibility_timeout": settings.CELERY_TASK_TIME_LIMIT * 6}


app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_transport_options=broker_transport_options(settings.CELERY_BROKER_URL),
    broker_connection_retry_on_startup=True,
    # Durable queues and persistent messages (Celery's defaults, stated because delivery
    # relies on them): a RabbitMQ restart keeps the queued tasks. Classic queues: quorum
    # queues refuse the per-consumer prefetch below.
    task_default_queue="celery",
    task_default_queue_type="classic",
    task_default_delivery_mode="persistent",
    # A task still running when the broker connection drops is not cancelled: its message
    # comes back and a second sender task starts, which the ledger's claims make harmless.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    # Acknowledge after the task ran, so a task whose worker died is delivered again...
    task_acks_late=True,
    # ...including when the worker process was killed (SIGKILL, OOM) rather than raising.
    task_reject_on_worker_lost=True,
    # Take one task at a time per pool process (on both brokers: RabbitMQ's basic.qos, Redis's
    # own count): prefetched tasks sit idle behind a slow batch, and die with their worker.
    worker_prefetch_multiplier=1,
    # JSON only: no pickle from the broker, and tasks carry ids, not objects.
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    # State lives in the database (the Delivery ledger), not in a result backend.
    task_ignore_result=True,
    # A hung SMTP connection must not hold a worker slot forever; the soft limit lets the
    # task mark its claimed rows before the hard limit kills it.
    task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
    task_soft_time_limit=max(settings.CELERY_TASK_TIME_LIMIT - 30, 1),
    # Recycle workers now and then so a slow leak cannot grow without bound.
    worker_max_tasks_per_child=1000,
    timezone=settings.TIME_ZONE,
    # Beat's memory of when each task last ran: a JSON file replaced whole (superfast.beat),
    # as celerybeat-schedule.json; Celery's own shelve was left corrupt by some stops.
    beat_scheduler="superfast.beat:JsonFileScheduler",
    beat_schedule_filename=str(settings.VAR_DIR / "celerybeat-schedule"),
    beat_schedule={
        "heartbeat": {"task": "superfast.tasks.heartbeat", "schedule": 60.0},
        # Starts due schedules, returns abandoned claims, restarts stalled dispatches.
        "delivery-sweep": {
            "task": "issues.tasks.sweep",
            "schedule": settings.SEND_SWEEP_INTERVAL_SECONDS,
        },
        # Plans the welcome emails that came due (one set-based statement per step). A run
        # still queued when the next is due is dropped: the next one plans the same rows,
        # and a backlog of them would keep the senders waiting.
        "welcome-steps": {
            "task": "issues.tasks.plan_welcome_steps",
            "schedule": settings.WELCOME_PLAN_INTERVAL_SECONDS,
            "options": {"expires": settings.WELCOME_PLAN_INTERVAL_SECONDS},
        },
        # Moves buffered clicks and opens into the database (issues.engagement.recorder).
        "engagement-flush": {
            "task": "issues.tasks.flush_engagement",
            "schedule": settings.ENGAGEMENT_FLUSH_SECONDS,
        },
        # Keeps the ledger bounded: old issues keep their counts, not a row per recipient.
        "compact-deliveries": {"task": "issues.tasks.compact_deliveries", "schedule": 86400.0},
        # Makes clicks and opens anonymous once an issue's unique counts are final: deletes
        # the salt that turns a subscriber into their pseudonym (docs/privacy.md).
        "drop-reader-salts": {"task": "issues.tasks.drop_reader_salts", "schedule": 3600.0},
        # Hands CSV imports whose worker died to a live one (they resume where they stopped).
        "resume-stalled-imports": {
            "task": "subscribers.tasks.resume_stalled_imports",
            "schedule": settings.SUBSCRIBER_IMPORT_STALE_SECONDS / 2,
        },
    },
)
app.autodiscover_tasks(["superfast", "subscribers", "issues"])


@signals.worker_init.connect
def refuse_to_work_when_misconfigured(**kwargs):
    """With DEBUG off, a worker whose production checks fail stops, naming the variable.

    Celery's Django fixup runs the system checks but ignores what they find; a worker
    must not mail readers with a guessable key in their links. SystemExit, because Celery
    logs and swallows any Exception a signal receiver raises.
    """
    from django.core.exceptions import ImproperlyConfigured

    from .checks import refuse_to_start_when_misconfigured

    try:
        refuse_to_start_when_misconfigured()
    except ImproperlyConfigured as error:
        raise SystemExit(str(error)) from None
