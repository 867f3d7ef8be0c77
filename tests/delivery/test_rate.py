"""One send rate holds across every worker process, not per worker."""

import pytest

from issues import delivery
from tests.support.delivery import make_subscribers, record_arrival_times, wait_for_dispatch
from tests.support.factories import make_issue

RATE = 80  # messages/s for both workers together; each alone sends faster
READERS = 1000  # 12.5 s at that rate: a window of 8 s after the start-up of both
WINDOW = 8


@pytest.mark.timed
def test_two_workers_together_keep_to_the_global_rate(start_worker, smtp_sink):
    arrivals = record_arrival_times(smtp_sink)
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, READERS)
    rate = {"SEND_RATE_PER_SECOND": str(RATE)}
    first, second = start_worker(env=rate), start_worker(env=rate)

    dispatch = wait_for_dispatch(delivery.start_dispatch(issue), timeout=120)

    window_start = arrivals[0] + 2  # past the start-up of both workers
    in_window = [t for t in arrivals if window_start <= t < window_start + WINDOW]
    measured = len(in_window) / WINDOW
    assert 0.9 * RATE <= measured <= 1.1 * RATE, f"{measured:.1f} messages/s"
    for worker in (first, second):  # both really sent
        assert "issues.tasks.send_dispatch" in worker.log_path.read_text()
    assert dispatch.deliveries.filter(status="sent").count() == READERS
    print(f"global rate: {measured:.1f} messages/s with two workers")
