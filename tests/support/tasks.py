"""Celery tasks run in the test's own process, against the test's database: what a worker
would do, one task at a time, when the test says so.

``InProcessQueue`` takes the place of ``superfast.queue.enqueue`` for ``issues.delivery``:
tasks enqueued by name wait in a list (with their countdown, read on the clock the test
controls) until ``run_due`` runs them by calling the task bodies of ``issues.tasks``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone


@dataclass
class QueuedTask:
    name: str
    args: tuple
    due: datetime


@dataclass
class Clock:
    """``timezone.now()`` under the test's control: it moves when ``advance`` says, and by
    a microsecond at each reading, so two rows made one after the other are still ordered
    by time (the latest dispatch is the one the admin steers)."""

    now: datetime = field(default_factory=timezone.now)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class InProcessQueue:
    clock: "Clock | None" = None
    tasks: list[QueuedTask] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock() if self.clock else timezone.now()

    def enqueue(self, name: str, *args: object, countdown: float = 0) -> None:
        self.tasks.append(QueuedTask(name, args, self.now() + timedelta(seconds=countdown or 0)))

    def install(self, monkeypatch) -> "InProcessQueue":
        monkeypatch.setattr("issues.delivery.queue.enqueue", self.enqueue)
        return self

    def run_next(self, name: str) -> None:
        """Run the first queued task of this name (``issues.tasks.plan_dispatch``), due or not."""
        from issues import tasks

        task = next(task for task in self.tasks if task.name == name)
        self.tasks.remove(task)
        getattr(tasks, task.name.rsplit(".", 1)[-1])(*task.args)

    def run_due(self, limit: int = 1000) -> int:
        """Run every task due now, and those they enqueue when due; how many ran.

        ``limit`` bounds a loop of tasks enqueueing each other (a failing test, not a hang).
        """
        from issues import tasks

        ran = 0
        while ran < limit:
            due = [task for task in self.tasks if task.due <= self.now()]
            if not due:
                return ran
            task = due[0]
            self.tasks.remove(task)
            getattr(tasks, task.name.rsplit(".", 1)[-1])(*task.args)
            ran += 1
        raise AssertionError(f"more than {limit} tasks ran in a row: {self.tasks[:5]}")
