"""A real Celery worker process takes tasks from the broker and writes to the database."""

import subprocess
import sys

import pytest
from kombu import Connection

from superfast.celery import app, broker_transport_options
from superfast.models import WorkerHeartbeat
from tests.support.processes import ROOT, celery_worker, child_env
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


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
@pytest.mark.django_db(transaction=True)
def test_worker_consumes_a_task_from_the_embedded_broker(tmp_path):
    """The default configuration needs no broker server: an SQLite file of its own."""
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    with celery_worker(tmp_path, env={"CELERY_BROKER_URL": url, "VAR_DIR": tmp_path}):
        with Connection(url, transport_options=broker_transport_options(url)) as conn:
            app.send_task("superfast.tasks.heartbeat", args=["embedded-broker"], connection=conn)
        wait_for_heartbeat("embedded-broker")
    assert (tmp_path / "broker.sqlite3").exists()


def test_the_embedded_broker_is_the_default_and_apart_from_the_database(monkeypatch, tmp_path):
    """Without CELERY_BROKER_URL the broker is its own SQLite file under VAR_DIR."""
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; print(s.CELERY_BROKER_URL)"],
        env=child_env(CELERY_BROKER_URL=None, DATABASE_URL=None, VAR_DIR=tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"sqla+sqlite:///{tmp_path.resolve() / 'broker.sqlite3'}"
