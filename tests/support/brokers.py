"""Celery brokers for the worker tests: the configured one, or RabbitMQ on a vhost of our own.

The worker tests that matter most for delivery run on both Redis and RabbitMQ (marked
``both_brokers``). RabbitMQ is shared by everyone on the machine, so a test session creates a
vhost of its own and deletes it at the end, leaving the server as it found it.
"""

import os
import subprocess
import uuid
from contextlib import contextmanager

RABBITMQ = os.environ.get("TEST_RABBITMQ", "127.0.0.1:5672")


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def rabbitmqctl(*args: str) -> None:
    try:
        done = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        raise RuntimeError(
            "rabbitmqctl is missing: the worker tests run on RabbitMQ too (see .ci/run)."
        ) from None
    if done.returncode:
        raise RuntimeError(
            f"rabbitmqctl {' '.join(args)} failed ({done.returncode}): is RabbitMQ running? "
            f"Start it with `rabbitmq-server -detached`.\n{done.stdout}{done.stderr}"
        )


@contextmanager
def rabbitmq_vhost():
    """A fresh vhost, usable by guest, as an amqp:// broker URL; deleted afterwards."""
    vhost = f"superfast_test_{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


def reset_connections(app) -> None:
    """Close the pooled broker connections, so the next publish connects to the new URL."""
    from kombu import pools

    pools.reset()  # kombu keeps one pool per URL for the whole process
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(url: str, monkeypatch):
    """This process enqueues on ``url``, and the worker processes it starts consume from it.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its own configuration,
    and the workers inherit the environment (tests.support.processes.child_env).
    """
    from superfast.celery import app, broker_transport_options

    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setitem(app.conf, "broker_url", url)
    monkeypatch.setitem(app.conf, "broker_transport_options", broker_transport_options(url))
    reset_connections(app)
    try:
        yield url
    finally:
        reset_connections(app)
