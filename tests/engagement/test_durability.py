"""The click buffer loses nothing and doubles nothing: a worker killed mid-flush, a Redis
that cannot be reached."""

from issues.delivery.queue import enqueue
from issues.engagement import recorder
from issues.models import Click, Delivery
from tests.support.delivery import children_of, kill_hard, make_subscribers
from tests.support.engagement import (
    BROWSER,
    buffered,
    issue_linking_to,
    links_by_reader,
    send_in_process,
)
from tests.support.processes import free_port
from tests.support.waiting import wait_until

CLICKS = 6000


def test_a_worker_killed_mid_flush_loses_and_doubles_no_click(
    engagement_worker, click_buffer, smtp_sink
):
    issue = issue_linking_to("http://127.0.0.1:9")
    make_subscribers(issue.newsletter, 50)
    send_in_process(issue)
    deliveries = list(Delivery.objects.filter(issue=issue).values_list("pk", flat=True))
    # The redirect's own call, once per click: 50 readers, 8 links each, many times over.
    for n in range(CLICKS):
        recorder.record("c", issue.pk, deliveries[n % 50], 1 + n // 50 % 8, "")
    assert buffered(click_buffer) == CLICKS

    worker = engagement_worker(ENGAGEMENT_FLUSH_BATCH="100")
    pids = [*children_of(worker.pid), worker.pid]
    enqueue("issues.tasks.flush_engagement")
    wait_until(lambda: Click.objects.exists(), timeout=60, what="the flush storing clicks")
    kill_hard(worker, pids)
    stored_before_kill = Click.objects.count()
    assert stored_before_kill < CLICKS, "the kill came after the flush had finished"

    engagement_worker()

    def flushed():
        enqueue("issues.tasks.flush_engagement")
        return buffered(click_buffer) == 0 and Click.objects.count() >= CLICKS

    wait_until(flushed, timeout=90, what="the buffer flushed by the new worker", interval=0.5)
    assert Click.objects.count() == CLICKS
    assert Click.objects.values("event_id").distinct().count() == CLICKS
    pending = click_buffer.client().xpending(recorder.STREAM, recorder.GROUP)
    assert pending["pending"] == 0


def test_when_redis_cannot_be_reached_the_click_goes_straight_to_the_database(
    client, db, settings, smtp_sink, click_buffer
):
    settings.SITE_URL = "http://testserver"
    issue = issue_linking_to("http://127.0.0.1:9", sections=2)
    make_subscribers(issue.newsletter, 1)
    send_in_process(issue)
    (links,) = links_by_reader(smtp_sink).values()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get(links[1].removeprefix("http://testserver"), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert list(Click.objects.values_list("link__position", "is_machine")) == [(1, False)]
