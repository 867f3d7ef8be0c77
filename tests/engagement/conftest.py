"""Engagement's own fixtures: ESP webhooks accepted, and a real worker whose click buffer is
the test's private Redis (``click_buffer``, ``site`` and ``targets``: tests/conftest.py)."""

import pytest

from tests.support.webhooks import WEBHOOK_SECRET


@pytest.fixture
def esp(settings, db, click_buffer):
    """Mail goes out through anymail's test backend; ESP webhooks carry the shared secret."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}, "WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def engagement_worker(start_worker, click_buffer):
    """Start a worker whose click buffer is the test's Redis. Its burst window is wide, so a
    slow machine cannot make a reader's clicks miss it: the tests click at once anyway."""

    def start(**env):
        env = {"REDIS_URL": click_buffer.url, "ENGAGEMENT_BURST_SECONDS": "300", **env}
        return start_worker(env=env)

    return start
