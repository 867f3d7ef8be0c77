"""Fixtures for delivery: a worker process that sends through the test's SMTP sink, on the
configured broker or, for tests marked ``both_brokers``, on RabbitMQ too."""

import subprocess

import pytest
from django.conf import settings
from kombu import Connection

from tests.support.brokers import publishing_to, rabbitmq_vhost, scheme
from tests.support.processes import celery_worker, free_port, stop_process
from tests.support.waiting import wait_until

# Fast retries and short leases, so the tests see backoff and recovery in seconds.
WORKER_SETTINGS = {
    "SEND_RETRY_BASE_SECONDS": "0.5",
    "SEND_BATCH_SIZE": "50",
    "SEND_PARALLEL_TASKS": "2",
    "SEND_LEASE_SECONDS": "4",
    "SEND_SWEEP_INTERVAL_SECONDS": "1",
}


def pytest_generate_tests(metafunc):
    """``both_brokers``: run the test once on the configured broker and once on RabbitMQ."""
    if metafunc.definition.get_closest_marker("both_brokers"):
        configured = scheme(settings.CELERY_BROKER_URL)
        brokers = [configured] + (["amqp"] if configured not in {"amqp", "pyamqp"} else [])
        metafunc.parametrize("broker", brokers, indirect=True)


@pytest.fixture(scope="session")
def rabbitmq_url():
    """A RabbitMQ vhost of this test session's own."""
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture
def broker(request, monkeypatch):
    """The broker URL the test and its workers use (``amqp``: a vhost of this session)."""
    if getattr(request, "param", None) == "amqp":
        url = request.getfixturevalue("rabbitmq_url")
        with publishing_to(url, monkeypatch):
            yield url
    else:
        yield settings.CELERY_BROKER_URL


@pytest.fixture
def fast_retries(settings):
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    for name, value in WORKER_SETTINGS.items():
        setattr(settings, name, float(value) if "." in value else int(value))


@pytest.fixture
def start_worker(transactional_db, tmp_path, smtp_sink, fast_retries, broker):
    """Start real worker processes sending to ``smtp_sink``; all stop after the test."""
    from superfast.celery import app

    app.control.purge()
    stack = []

    def start(concurrency=1, env=None, extra_args=()):
        context = celery_worker(
            tmp_path,
            concurrency=concurrency,
            env={**smtp_sink.env(), **WORKER_SETTINGS, **(env or {})},
            extra_args=extra_args,
        )
        proc = context.__enter__()
        stack.append(context)
        return proc

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, which the test may stop and start again."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]

    class Server:
        url = f"redis://127.0.0.1:{port}"

        def start(self):
            self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            wait_until(self.answers, timeout=10, what="redis-server answering")

        def answers(self):
            try:
                with Connection(self.url + "/0", connect_timeout=0.5) as conn:
                    conn.ensure_connection(max_retries=1)
                return True
            except Exception:
                return False

        def stop(self):
            stop_process(self.proc)

    server = Server()
    server.start()
    yield server
    server.stop()
