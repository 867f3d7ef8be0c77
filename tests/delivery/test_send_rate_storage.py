"""Where the global send rate is kept: Redis, never a file of one machine in production."""

import threading

import pytest

from issues.delivery.ratelimit import RateLimiter
from tests.support.waiting import wait_until


@pytest.mark.slow  # seconds of a sender renewing its claim while Redis is away
def test_in_production_a_sender_waits_for_redis_instead_of_keeping_the_rate_in_a_file(
    settings, tmp_path, private_redis
):
    """A file schedule is one machine's: with it, every machine would send at the full
    rate while Redis is away. The sender waits, renewing its claim, until Redis is back."""
    settings.DEBUG = False
    settings.VAR_DIR = tmp_path / "var"
    settings.REDIS_URL = private_redis.address + "/0"
    limiter = RateLimiter(50)
    limiter.wait()  # Redis answers: the first slot is now
    private_redis.stop()
    renewals, done = [], threading.Event()
    waiting = threading.Thread(
        target=lambda: (limiter.wait(while_waiting=lambda: renewals.append(1)), done.set())
    )
    waiting.start()
    wait_until(lambda: len(renewals) >= 2, timeout=10, what="the sender renewing its claim")
    assert not done.is_set(), "sent without the shared schedule"
    private_redis.start()
    waiting.join(timeout=10)
    assert done.is_set(), "still waiting with Redis back"
    assert not settings.VAR_DIR.exists(), "the rate was kept in a local file"


def test_in_development_without_redis_the_rate_is_kept_in_a_file_under_var_dir(settings, tmp_path):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path / "var"
    settings.REDIS_URL = None
    RateLimiter(50).wait()
    assert (settings.VAR_DIR / "send-rate.schedule").exists()
