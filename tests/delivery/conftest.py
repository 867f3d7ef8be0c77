"""Fixtures for delivery: a worker process that sends through the test's SMTP sink."""

import pytest

from tests.support.processes import celery_worker

# Fast retries and short leases, so the tests see backoff and recovery in seconds.
WORKER_SETTINGS = {
    "SEND_RETRY_BASE_SECONDS": "0.5",
    "SEND_BATCH_SIZE": "50",
    "SEND_PARALLEL_TASKS": "2",
    "SEND_LEASE_SECONDS": "4",
    "SEND_SWEEP_INTERVAL_SECONDS": "1",
}


@pytest.fixture
def fast_retries(settings):
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    for name, value in WORKER_SETTINGS.items():
        setattr(settings, name, float(value) if "." in value else int(value))


@pytest.fixture
def start_worker(transactional_db, tmp_path, smtp_sink, fast_retries):
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
