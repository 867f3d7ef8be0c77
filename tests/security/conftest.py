"""The security tests' fixtures: the subscriber tests' (a newsletter or two, a mail worker,
empty rate limits) and the engagement tests' click buffer."""

from tests.engagement.conftest import click_buffer  # noqa: F401  (a fixture, found by name)
from tests.subscribers.conftest import (  # noqa: F401  (fixtures, found by name)
    fresh_rate_limits,
    mail,
    mail_worker,
    newsletter,
    second_newsletter,
)
