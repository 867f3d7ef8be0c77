"""The subscriber tests' fixtures (a newsletter or two, a mail worker, empty rate limits)."""

from tests.subscribers.conftest import (  # noqa: F401  (fixtures, found by name)
    fresh_rate_limits,
    mail,
    mail_worker,
    newsletter,
    second_newsletter,
)
