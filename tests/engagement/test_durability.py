"""The click buffer loses nothing and doubles nothing: a worker killed mid-flush, web
servers killed mid-click, a Redis that cannot be reached."""

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from django.conf import settings

from issues.delivery.queue import enqueue
from issues.engagement import recorder
from issues.models import Click, Delivery
from tests.support.delivery import children_of, kill_hard, make_subscribers
from tests.support.engagement import (
    BROWSER,
    buffered,
    issue_linking_to,
    links_by_reader,
    request,
    send_in_process,
)
from tests.support.processes import child_env, free_port
from tests.support.waiting import wait_until

CLICKS = 3000


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

    worker = engagement_worker(ENGAGEMENT_FLUSH_BATCH="50")
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


def clicks_buffered(readers: int, clicks: int):
    """An issue sent to ``readers`` readers, ``clicks`` of their clicks on link 1 buffered:
    the issue and its delivery ids."""
    issue = issue_linking_to("http://127.0.0.1:9")
    make_subscribers(issue.newsletter, readers)
    send_in_process(issue)
    deliveries = list(Delivery.objects.filter(issue=issue).values_list("pk", flat=True))
    for n in range(clicks):
        recorder.record("c", issue.pk, deliveries[n % readers], 1, "")
    return issue, deliveries


def test_a_flush_that_dies_while_acknowledging_leaves_nothing_behind(
    db, click_buffer, smtp_sink, monkeypatch
):
    """A batch is acknowledged and deleted together. A flush that died between the two (a
    worker killed there, as the test above once did) left the batch in the stream for ever:
    read by no later flush, and counted as waiting."""
    import redis

    clicks_buffered(readers=5, clicks=20)

    def dies(*args, **kwargs):
        raise redis.ConnectionError("the flushing process died here")

    with monkeypatch.context() as patch:
        patch.setattr(redis.Redis, "xdel", dies)
        with pytest.raises(redis.ConnectionError):
            recorder.flush()
    recorder.flush()
    assert buffered(click_buffer) == 0
    assert Click.objects.count() == 20


def test_a_flush_stores_what_was_waiting_and_leaves_what_arrives_meanwhile_to_the_next(
    db, click_buffer, smtp_sink, monkeypatch
):
    """Beat flushes every few seconds. A flush that read on until the stream was empty chased
    the clicks arriving while it stored: under a steady stream it stored a few clicks at a
    time, each at a whole batch's cost, for its whole budget (``BENCH click_during_send``
    found it: the flush took more CPU than the redirects it followed)."""
    issue, deliveries = clicks_buffered(readers=5, clicks=30)
    stored_batches = []
    store = recorder.store

    def store_while_a_reader_clicks(entries):
        stored_batches.append(len(entries))
        recorder.record("c", issue.pk, deliveries[0], 2, "")  # a click while this stores
        return store(entries)

    monkeypatch.setattr(recorder, "store", store_while_a_reader_clicks)
    assert recorder.flush(budget_seconds=3) == 30
    assert stored_batches == [30]
    assert Click.objects.count() == 30
    assert buffered(click_buffer) == 1  # for the next flush
    monkeypatch.setattr(recorder, "store", store)
    assert recorder.flush() == 1
    assert Click.objects.count() == 31


def test_a_flush_reads_batch_after_batch_while_they_come_full(
    db, click_buffer, smtp_sink, settings
):
    clicks_buffered(readers=5, clicks=25)
    settings.ENGAGEMENT_FLUSH_BATCH = 10
    assert recorder.flush() == 25
    assert buffered(click_buffer) == 0


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


@contextmanager
def gunicorn(port, log_dir, buffer_url):
    """The site served by gunicorn (2 workers) in its own process group; clicks go into
    ``buffer_url``."""
    with open(log_dir / f"gunicorn-{port}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "superfast.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            env=child_env(REDIS_URL=buffer_url, SITE_URL=f"http://127.0.0.1:{port}"),
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(lambda: answers(port), timeout=30, what="gunicorn serving")
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def answers(port):
    try:
        return request(f"http://127.0.0.1:{port}/healthz", follow=False)[0] < 500
    except OSError:
        return False


@pytest.mark.slow  # runs gunicorn
def test_every_click_a_reader_was_redirected_for_is_kept_across_web_server_kills(
    transactional_db, settings, smtp_sink, click_buffer, tmp_path
):
    port = free_port()
    settings.SITE_URL = f"http://127.0.0.1:{port}"
    issue = issue_linking_to("http://127.0.0.1:9", sections=3)
    make_subscribers(issue.newsletter, 5)
    send_in_process(issue)
    urls = [url for links in links_by_reader(smtp_sink).values() for url in links[1:]]
    redirected = 0

    stop = threading.Event()

    def click_until_stopped():
        nonlocal redirected
        while not stop.is_set():
            # The server going away mid-request answers no 302; the reader clicks again.
            with contextlib.suppress(OSError):
                redirected += request(random.choice(urls), follow=False)[0] == 302

    def redirected_at_least(count):
        wait_until(lambda: redirected >= count, timeout=60, what=f"{count} clicks redirected")

    with gunicorn(port, tmp_path, click_buffer.url) as server:
        clicker = threading.Thread(target=click_until_stopped)
        clicker.start()
        try:
            for clicks in (20, 40):  # kill -9 the web workers mid-click; gunicorn starts new ones
                redirected_at_least(clicks)
                for pid in children_of(server.pid):
                    # A worker may end between the listing and the kill (gunicorn retires one).
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            redirected_at_least(60)  # the new ones answer
        finally:
            stop.set()
            clicker.join()

    recorder.flush()
    assert redirected > 50
    assert Click.objects.count() >= redirected  # a click may be kept and its answer lost
    assert Click.objects.count() - redirected <= 4  # at most the requests in flight
