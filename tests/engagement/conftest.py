"""Fixtures for engagement: the click buffer in a Redis of the test's own, the site served
by a live server (tracked links point at it), link targets on loopback, a real worker."""

import pytest

from issues.engagement.views import link_tables
from tests.delivery.conftest import WORKER_SETTINGS, fast_retries, start_worker  # noqa: F401
from tests.support.engagement import LinkTargets, PrivateRedis


@pytest.fixture
def click_buffer(tmp_path, settings):
    """A private Redis as the click buffer of this process, the live server and workers."""
    server = PrivateRedis(tmp_path).start()
    settings.REDIS_URL = server.url
    link_tables.clear()
    yield server
    link_tables.clear()
    server.stop()


@pytest.fixture
def site(live_server, settings, click_buffer):
    """The live server as SITE_URL: the tracked links of issues frozen now point at it."""
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def targets():
    server = LinkTargets()
    yield server
    server.stop()


@pytest.fixture
def engagement_worker(start_worker, click_buffer):  # noqa: F811
    """Start a worker whose click buffer is the test's Redis."""

    def start(**env):
        return start_worker(env={"REDIS_URL": click_buffer.url, **env})

    return start
