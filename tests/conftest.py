"""Shared fixtures: real SMTP sink, real Celery workers on either broker, real browser."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.support.brokers import publishing_to, rabbitmq_vhost, scheme
from tests.support.browser import chromium
from tests.support.processes import WORKER_SETTINGS, PrivateRedis, celery_worker
from tests.support.smtp import SmtpSink

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_generate_tests(metafunc):
    """``both_brokers``: run the test once on the configured broker and once on RabbitMQ."""
    if metafunc.definition.get_closest_marker("both_brokers"):
        configured = scheme(django_settings.CELERY_BROKER_URL)
        brokers = [configured] + (["amqp"] if configured not in {"amqp", "pyamqp"} else [])
        metafunc.parametrize("broker", brokers, indirect=True)


@pytest.fixture
def artifacts_dir():
    """Screenshots and logs worth looking at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def smtp_sink(settings):
    """A running SMTP server on loopback; Django's mail settings point at it."""
    sink = SmtpSink().start()
    for name, value in sink.settings().items():
        setattr(settings, name, value)
    yield sink
    sink.stop()


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real Celery worker process on the configured broker and the test database."""
    from superfast.celery import app

    app.control.purge()
    with celery_worker(tmp_path) as proc:
        yield proc


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
        yield django_settings.CELERY_BROKER_URL


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
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
