"""The delivery tests' real worker, sending through the test's SMTP sink."""

from tests.delivery.conftest import fast_retries, start_worker  # noqa: F401 (fixtures)
