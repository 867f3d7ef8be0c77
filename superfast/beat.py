"""Celery beat's schedule in a JSON file that is replaced whole, never half-written.

Beat remembers when each periodic task last ran, so a restart neither runs everything at
once nor forgets a daily task. Celery keeps that in a ``shelve`` (``dbm.dumb`` here: several
files written in place), which a stop at the wrong moment left corrupt about once in eight
stops, and beat then refused to start until the files were deleted by hand. Here the whole
schedule is written to a new file that replaces the old one (``os.replace``, atomic), and a
file that cannot be read anyway (a disk error, an edit by hand) is logged and rebuilt.
"""

import json
import logging
import os
from datetime import datetime
from pathlib import Path

from celery.beat import Scheduler

logger = logging.getLogger(__name__)


class JsonFileScheduler(Scheduler):
    """``beat_scheduler``: the schedule in ``<beat_schedule_filename>.json``."""

    def __init__(self, *args, **kwargs):
        filename = kwargs.get("schedule_filename") or args[0].conf.beat_schedule_filename
        self.path = Path(f"{filename}.json")
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        self.merge_inplace(self.app.conf.beat_schedule)
        self.install_default_entries(self.data)
        for name, (last_run_at, count) in self.saved_runs().items():
            if name in self.data:
                self.data[name].last_run_at, self.data[name].total_run_count = last_run_at, count
        self.sync()

    def saved_runs(self) -> dict[str, tuple[datetime, int]]:
        """When each task last ran, and how often, as the file says; nothing if it cannot."""
        try:
            saved = json.loads(self.path.read_text())
            return {
                name: (datetime.fromisoformat(run["last_run_at"]), int(run["total_run_count"]))
                for name, run in saved.items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            logger.warning("beat: unreadable schedule %s (%r): starting afresh", self.path, error)
            return {}

    def sync(self) -> None:
        runs = {
            name: {
                "last_run_at": entry.last_run_at.isoformat(),
                "total_run_count": entry.total_run_count,
            }
            for name, entry in self.data.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(runs, indent=1))
        os.replace(partial, self.path)

    @property
    def info(self) -> str:
        return f"    . db -> {self.path}"
