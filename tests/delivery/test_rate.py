"""One send rate holds across every worker process, not per worker."""

from issues import delivery
from tests.support.delivery import (
    make_issue,
    make_subscribers,
    record_arrival_times,
    wait_for_dispatch,
)


def test_two_workers_together_keep_to_the_global_rate(start_worker, smtp_sink):
    arrivals = record_arrival_times(smtp_sink)
    issue = make_issue()
    make_subscribers(issue.newsletter, 1300)
    rate = {"SEND_RATE_PER_SECOND": "50"}
    first, second = start_worker(env=rate), start_worker(env=rate)

    dispatch = wait_for_dispatch(delivery.start_dispatch(issue), timeout=120)

    window_start = arrivals[0] + 2  # past the start-up of both workers
    in_window = [t for t in arrivals if window_start <= t < window_start + 20]
    measured = len(in_window) / 20
    assert 45 <= measured <= 55, f"{measured:.1f} messages/s"
    for worker in (first, second):  # both really sent
        assert "issues.tasks.send_dispatch" in worker.log_path.read_text()
    assert dispatch.deliveries.filter(status="sent").count() == 1300
    print(f"global rate: {measured:.1f} messages/s with two workers")
