"""One send rate for every worker process (``SEND_RATE_PER_SECOND``).

Celery's ``rate_limit`` counts per worker; two workers would send twice as fast. Here every
process reserves its next slot in one shared schedule (GCRA, "virtual scheduling"): the
schedule lives in Redis when ``REDIS_URL`` is set, else in a locked file under ``VAR_DIR``,
which holds across the processes of the single machine the embedded default runs on.

Production (``DEBUG`` off) keeps no file: workers on several machines would each keep their
own and together send at a multiple of the rate. There, while Redis is away, senders wait
for it (keeping their claims alive) instead of guessing.
"""

import fcntl
import logging
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

# Reserve the next free slot and return how long the caller must wait for it (µs). Redis's
# own clock is used, so workers on several machines agree.
RESERVE_SCRIPT = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now_us then slot = now_us end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', 60000)
return slot - now_us
"""


class FileSchedule:
    """The shared schedule in a file, locked with flock: one machine, any number of processes."""

    def __init__(self, path: Path):
        self.path = path

    def reserve(self, interval: float) -> float:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                slot = float(handle.read() or 0)
            except ValueError:
                slot = 0.0
            now = time.time()
            slot = max(slot, now)
            handle.seek(0)
            handle.truncate()
            handle.write(repr(slot + interval))
            return slot - now


class RedisSchedule:
    """The shared schedule in Redis, for workers on several machines."""

    key = "superfast:send-rate"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self.script = self.client.register_script(RESERVE_SCRIPT)

    def reserve(self, interval: float) -> float:
        return int(self.script(keys=[self.key], args=[int(interval * 1_000_000)])) / 1_000_000


class SharedScheduleUnavailable(Exception):
    """Redis is away and production has no local schedule to fall back on."""


REDIS_RETRY_SECONDS = 1.0


class RateLimiter:
    """``wait()`` before each message; returns at once when no rate is set."""

    def __init__(self, rate_per_second: float):
        self.interval = 1 / rate_per_second if rate_per_second > 0 else 0.0
        self.shared = RedisSchedule(settings.REDIS_URL) if settings.REDIS_URL else None
        self.local = (
            FileSchedule(Path(settings.VAR_DIR) / "send-rate.schedule") if settings.DEBUG else None
        )

    def wait(self, while_waiting: Callable[[], None] = lambda: None) -> None:
        """Sleep until this process's next slot; ``while_waiting`` is called now and then
        while Redis is away (the sender renews its claim with it)."""
        if not self.interval:
            return
        while True:
            try:
                delay = self.reserve()
            except SharedScheduleUnavailable:
                while_waiting()
                time.sleep(REDIS_RETRY_SECONDS)
                continue
            time.sleep(max(delay, 0.0))
            return

    def reserve(self) -> float:
        if self.shared is not None:
            try:
                return self.shared.reserve(self.interval)
            except Exception as exc:  # redis raises several connection errors
                # Redis is away (restarting). In development, keep to the rate on this
                # machine until it is back; in production, wait for it.
                log.warning("rate limiter: Redis unavailable (%s)", exc)
                if self.local is None:
                    raise SharedScheduleUnavailable(str(exc)) from exc
        if self.local is None:
            raise SharedScheduleUnavailable("REDIS_URL is not set")
        return self.local.reserve(self.interval)


def limiter() -> RateLimiter:
    return RateLimiter(settings.SEND_RATE_PER_SECOND)
