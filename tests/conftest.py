"""Shared fixtures: real SMTP sink, real Celery worker, real browser."""

import os
from pathlib import Path

import pytest

from tests.support.browser import chromium
from tests.support.processes import celery_worker
from tests.support.smtp import SmtpSink

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
