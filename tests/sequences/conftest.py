"""Fixtures for welcome sequences and subject tests: a worker with beat, sending to a sink."""

import pytest

from issues.models import Newsletter
from tests.subscribers.conftest import fresh_rate_limits  # noqa: F401  (each test starts clean)
from tests.support.delivery import add_blocks
from tests.support.processes import WORKER_SETTINGS

# Beat plans due steps every two seconds and decides tests every second, so delays of
# seconds are honoured.
BEAT_SETTINGS = {
    **WORKER_SETTINGS,
    "WELCOME_PLAN_INTERVAL_SECONDS": "2",
    "WELCOME_PLAN_OVERLAP_SECONDS": "2",
}


@pytest.fixture
def newsletter(db):
    return Newsletter.objects.create(
        name="The Weekly Dispatch",
        slug="weekly",
        from_name="The Weekly Dispatch",
        from_email="news@example.org",
    )


@pytest.fixture
def start_worker_and_beat(start_worker):
    """A real worker with its embedded beat, sweeping and planning every second."""
    return lambda: start_worker(concurrency=2, env=BEAT_SETTINGS, extra_args=["--beat"])


def welcome_sequence(newsletter, *delays, title="Welcome"):
    """A sequence with one step per delay, each email a real stream of blocks."""
    from issues import sequences

    sequence = sequences.sequence_for(newsletter)
    for n, delay in enumerate(delays, start=1):
        step = sequences.add_step(sequence, title=f"{title} {n}", delay=delay)
        add_blocks(step.issue, sections=3)
    return sequence
