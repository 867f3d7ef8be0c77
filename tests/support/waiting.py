"""Polling for what another process (worker, web server, SMTP sink) does in its own time."""

import time


def wait_until(condition, timeout=60, what="the condition", interval=0.05):
    """Return the first truthy value of ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(interval)
