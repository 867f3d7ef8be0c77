"""Beat starts, and keeps its schedule, whatever state a stop left the schedule file in."""

import json

import pytest

from tests.support.processes import celery_beat
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # each test starts Celery beat

SWEEP_EVERY_SECOND = {"SEND_SWEEP_INTERVAL_SECONDS": "1"}


@pytest.mark.parametrize(
    "leftover",
    [b"", b'{"delivery-sweep": {"last_run_at": "2026-01-', b"\x00\xff garbage", b"[1, 2]"],
    ids=["empty", "half-written", "binary", "not-a-schedule"],
)
def test_beat_rebuilds_a_corrupt_schedule_file_and_runs_its_tasks(tmp_path, leftover):
    schedule = tmp_path / "celerybeat-schedule.json"
    schedule.write_bytes(leftover)
    with celery_beat(tmp_path, env=SWEEP_EVERY_SECOND, cwd=tmp_path) as beat:
        wait_until(
            lambda: "Sending due task delivery-sweep" in beat.log_path.read_text(),
            30,
            "beat sent its first sweep",
            0.2,
        )
    assert "unreadable schedule" in beat.log_path.read_text()
    saved = json.loads(schedule.read_text())  # written afresh, whole
    assert {"heartbeat", "delivery-sweep", "welcome-steps"} <= saved.keys()


def sent_a_sweep(beat):
    return "Sending due task delivery-sweep" in beat.log_path.read_text()


def test_beat_remembers_when_each_task_last_ran_across_a_restart(tmp_path):
    """Killed (no goodbye), then started again: the minute-long heartbeat keeps its time."""
    schedule = tmp_path / "celerybeat-schedule.json"
    with celery_beat(tmp_path, env=SWEEP_EVERY_SECOND, cwd=tmp_path) as beat:
        wait_until(lambda: sent_a_sweep(beat), 30, "beat sent its first sweep", 0.2)
    first = json.loads(schedule.read_text())["heartbeat"]["last_run_at"]
    with celery_beat(tmp_path, env=SWEEP_EVERY_SECOND, cwd=tmp_path) as beat:
        wait_until(lambda: sent_a_sweep(beat), 30, "beat sent a sweep again", 0.2)
    assert json.loads(schedule.read_text())["heartbeat"]["last_run_at"] == first
    assert "unreadable" not in beat.log_path.read_text()
