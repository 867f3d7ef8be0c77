"""Engagement's own fixture: ESP webhooks accepted (the click buffer, the live site, link
targets and a worker that flushes clicks are shared: tests/conftest.py)."""

import pytest

from tests.support.webhooks import WEBHOOK_SECRET


@pytest.fixture
def esp(settings, db, click_buffer):
    """Mail goes out through anymail's test backend; ESP webhooks carry the shared secret."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}, "WEBHOOK_SECRET": WEBHOOK_SECRET}
