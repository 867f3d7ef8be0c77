"""A real Celery worker process takes tasks from the broker and writes to the database."""

import pytest
from kombu import Connection

from superfast.celery import app
from superfast.models import WorkerHeartbeat
from tests.support.processes import celery_worker
from tests.support.waiting import wait_until


def wait_for_heartbeat(name, timeout=30):
    return wait_until(
        lambda: WorkerHeartbeat.objects.filter(name=name).first(),
        timeout,
        what=f"a heartbeat {name!r} in the database",
        interval=0.2,
    )


def test_worker_consumes_a_task_from_the_configured_broker(worker):
    app.send_task("superfast.tasks.heartbeat", args=["configured-broker"])
    beat = wait_for_heartbeat("configured-broker")
    assert beat.seen_at is not None
    assert "superfast.tasks.heartbeat" in worker.log_path.read_text()


@pytest.mark.django_db(transaction=True)
def test_worker_consumes_a_task_from_the_embedded_filesystem_broker(tmp_path):
    """The default configuration needs no broker server: kombu's filesystem transport."""
    folder = tmp_path / "broker"
    (folder / "control").mkdir(parents=True)
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
    }
    worker_env = {"CELERY_BROKER_URL": "filesystem://", "VAR_DIR": tmp_path}
    with celery_worker(tmp_path, env=worker_env):
        with Connection("filesystem://", transport_options=options) as conn:
            app.send_task("superfast.tasks.heartbeat", args=["embedded-broker"], connection=conn)
        wait_for_heartbeat("embedded-broker")
