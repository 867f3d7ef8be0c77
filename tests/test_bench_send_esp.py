"""``bench/bench_send_esp.py`` at 300 readers: the fake Postmark API takes every message
the Postmark batch transport sends for a real worker, and the summary line parses."""

import re

import pytest
import requests

from bench import bench_send_esp, fake_postmark
from issues.models import Delivery

FIELDS = [
    "readers",
    "msgs_per_s",
    "limit_msgs_per_s",
    "ratio",
    "rss_mb_start",
    "rss_mb_end",
    "fake_us_alone",
    "fake_us",
    "worker_us",
    "postgres_us",
    "cores_busy",
]


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_send_esp_bench_sends_every_reader_through_the_fake_api_and_prints_its_line(
    transactional_db, broker, tmp_path
):
    from django.db import connection

    from superfast.celery import app

    app.control.purge()
    # The suite's settings: production's refuse the embedded broker of `make test`.
    figures = bench_send_esp.measure(300, tmp_path, production=False)
    line = bench_send_esp.summary(figures)

    assert Delivery.objects.filter(status="sent").count() == 300
    assert figures["api_accepted"] == 300
    assert Delivery.objects.exclude(message_id="").count() == 300, "Postmark's ids kept"
    match = re.fullmatch(r"BENCH send_esp((?: \w+=[0-9.]+)+) ok=(yes|no)", line)
    assert match, line
    values = dict(pair.split("=") for pair in match.group(1).split())
    assert list(values) == FIELDS
    assert values["readers"] == "300"
    # PostgreSQL's share is 0 where the suite runs on SQLite, and only there.
    assert all(float(value) > 0 for name, value in values.items() if name != "postgres_us")
    assert (float(values["postgres_us"]) > 0) == (connection.vendor == "postgresql")
    assert 0 < float(values["cores_busy"]) <= 1


def test_the_fake_api_keeps_postmarks_batch_limits(tmp_path):
    api, port = bench_send_esp.start_fake_api()
    try:
        url = f"http://127.0.0.1:{port}/email/batch"
        token = {"X-Postmark-Server-Token": "t"}
        message = {"From": "a@example.org", "To": "b@example.org", "TextBody": "x"}
        ok = requests.post(url, json=[message] * 500, headers=token, timeout=10)
        assert ok.status_code == 200
        assert [r["ErrorCode"] for r in ok.json()] == [0] * 500
        assert all(r["To"] == "b@example.org" and r["MessageID"] for r in ok.json())
        too_many = requests.post(url, json=[message] * 501, headers=token, timeout=10)
        assert too_many.status_code == 422 and too_many.json()["ErrorCode"] == 300
        too_big = requests.post(
            url, data=b" " * (fake_postmark.BATCH_BYTES + 1), headers=token, timeout=30
        )
        assert too_big.status_code == 422
        assert requests.post(url, json=[message], timeout=10).status_code == 401
        assert bench_send_esp.accepted(port) == 500
    finally:
        api.terminate()
        api.wait()
