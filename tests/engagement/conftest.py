"""Fixtures for engagement: the click buffer in a Redis of the test's own, the site served
by a live server (tracked links point at it), link targets on loopback, a real worker."""

import pytest

from issues.engagement.views import link_tables
from tests.support.engagement import LinkTargets


@pytest.fixture
def click_buffer(private_redis, settings):
    """A private Redis as the click buffer of this process, the live server and workers."""
    settings.REDIS_URL = private_redis.url
    link_tables.clear()
    yield private_redis
    link_tables.clear()


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
def engagement_worker(start_worker, click_buffer):
    """Start a worker whose click buffer is the test's Redis. Its burst window is wide, so a
    slow machine cannot make a reader's clicks miss it: the tests click at once anyway."""

    def start(**env):
        env = {"REDIS_URL": click_buffer.url, "ENGAGEMENT_BURST_SECONDS": "300", **env}
        return start_worker(env=env)

    return start
