"""``bench/bench_scale.py`` at 1,000 subscribers: every step runs and the summary parses.

The steps are the benchmark's own (the import and the send by real workers, the ledger
filled to ten rows per subscriber, the admin pages); only the mail endpoint is the suite's
SMTP sink instead of Postfix's, which ``make test`` does not unpack.
"""

import re

import pytest

from bench import bench_scale
from issues.models import Delivery
from subscribers.models import Subscriber

FIELDS = [
    "subscribers",
    "import_seconds",
    "plan_seconds",
    "send_msgs_per_s",
    "ratio",
    "worker_peak_rss_mb",
    "admin_ms_max",
]


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_scale_bench_runs_every_step_and_prints_its_line(
    transactional_db, smtp_sink, broker, tmp_path, capsys
):
    from superfast.celery import app

    app.control.purge()
    figures = bench_scale.measure(1000, smtp_sink.port, tmp_path, limit_messages=500)
    line = bench_scale.summary(1000, figures)

    assert Subscriber.objects.count() == 1000
    assert Delivery.objects.filter(status="sent").count() == 10_000
    assert figures["delivery_rows"] == 10_000
    match = re.fullmatch(r"BENCH scale((?: \w+=[0-9.]+)+) ok=(yes|no)", line)
    assert match, line
    values = dict(pair.split("=") for pair in match.group(1).split())
    assert list(values)[: len(FIELDS)] == FIELDS
    assert values["subscribers"] == "1000"
    assert all(float(value) > 0 for value in values.values())
    progress = capsys.readouterr().out.splitlines()
    assert progress and all(line.startswith("# ") for line in progress)
    assert any(line.startswith("# admin dashboard: ") for line in progress)
