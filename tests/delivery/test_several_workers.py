"""Workers on several machines share only PostgreSQL, the broker, Redis and the mail server.

The small version of ``make soak`` (bench/soak.py): two production workers, each in a
directory of its own under its own node name, one of them killed with ``kill -9`` and
started again during a send to 1,000 readers: nobody is missed, at most the batch in flight
is sent twice, and the two together keep to SEND_RATE_PER_SECOND as measured at the sink.
"""

import pytest

from issues import delivery
from tests.support.brokers import publishing_to
from tests.support.delivery import make_subscribers, wait_for_dispatch
from tests.support.factories import make_issue
from tests.support.fleet import ArrivalLog, Fleet, kill_and_restart_during_send, outcome
from tests.support.processes import WORKER_SETTINGS


@pytest.fixture
def shared(broker, settings, request, monkeypatch):
    """The broker and Redis URLs the workers share. Production workers refuse the development
    defaults (the embedded broker, no Redis: files of one machine alone), so on those a Redis
    server of the test's own stands in, and this process publishes to it too."""
    redis_url = settings.REDIS_URL
    if redis_url and not broker.startswith("sqla+"):
        yield broker, redis_url
        return
    own = request.getfixturevalue("private_redis")
    settings.REDIS_URL = redis_url = redis_url or f"{own.address}/2"
    if broker.startswith("sqla+"):
        with publishing_to(f"{own.address}/1", monkeypatch) as broker:
            yield broker, redis_url
    else:
        yield broker, redis_url


RATE = 120  # messages/s for the two together; each alone sends faster on an idle machine
READERS = 1000  # about 8 s at that rate; the kill comes at 40% of it


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
@pytest.mark.both_brokers
@pytest.mark.timed
def test_two_workers_killed_and_restarted_miss_nobody_and_keep_the_global_rate(
    transactional_db, tmp_path, shared
):
    from superfast.celery import app

    app.control.purge()
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, READERS)
    broker, redis_url = shared
    env = {
        **WORKER_SETTINGS,
        "SEND_RATE_PER_SECOND": str(RATE),
        "SEND_PARALLEL_TASKS": "4",
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": redis_url,
    }
    with (
        ArrivalLog() as sink,
        Fleet(tmp_path, ["east", "west"], {**env, "EMAIL_PORT": sink.port}) as fleet,
    ):
        fleet.start_beat()  # its sweeper returns the dead worker's claim
        fleet.start("east", "west")

        dispatch = delivery.start_dispatch(issue)
        kill_and_restart_during_send(fleet, sink, READERS, kills=[("east", 0.4)])
        wait_for_dispatch(dispatch, timeout=120)
        arrivals = sink.snapshot()
        senders = {
            name: fleet.logs(name).count("issues.tasks.send_dispatch") for name in fleet.names
        }
        state = fleet.local_state()

    result = outcome(arrivals, {reader.email for reader in readers}, window=2.0)
    assert result.missing == 0, "someone is missing"
    batch = int(WORKER_SETTINGS["SEND_BATCH_SIZE"])
    assert result.duplicates <= batch, f"{result.duplicates} duplicates for one kill"
    # The shared schedule in Redis: the two together never beat the rate, kill and restart
    # included (a little slack for arrivals bunched by the loopback network). That the rate
    # is what paces them is test_rate.py's part, at a rate a busy machine still reaches.
    assert result.measured_rate <= RATE * 1.1, f"{result.measured_rate} msgs/s"
    assert all(senders.values()), f"a worker never sent: {senders}"
    assert fleet.started["east"] == 2
    assert dispatch.deliveries.filter(status="sent").count() == READERS
    assert state == [], f"a production worker wrote local files: {state}"
    print(f"two workers, one kill -9: {result.line(max_duplicates_allowed=batch, rate_limit=RATE)}")
