"""Keeps the demo's processes running: one that dies is started again, with a line in the log.

The demo (``superfast.demo``) runs the web server, a Celery worker and Celery beat. A worker
that crashes must not take the web server down with it, nor stay dead: it is restarted
after a pause that doubles from 1 s up to 30 s while it keeps dying. One that died more than
``max_restarts`` times within ``window`` seconds is given up on, with a message that says so
(a process that cannot start is better fixed than restarted forever); the others go on,
unless it was the web server, without which the demo is no use: then the demo stops.

The clock and the way a process is started are parameters, so the backoff and the giving
up are tested with a fake clock (tests/test_supervisor.py).
"""

import contextlib
import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Process(Protocol):
    pid: int

    def poll(self) -> int | None: ...


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    max_restarts: int = 10
    window: float = 300.0

    def delay(self, recent_restarts: int) -> float:
        """The pause before the next start, after ``recent_restarts`` within the window."""
        return min(self.first_delay * 2**recent_restarts, self.max_delay)


@dataclass
class Child:
    name: str
    command: Sequence[str]
    process: Process | None = None
    restarts: deque[float] = field(default_factory=deque)  # when, within the window
    start_at: float | None = None  # a restart waiting for its pause to end
    given_up: bool = False


def spawn_in_own_group(command: Sequence[str], cwd: str | None = None) -> subprocess.Popen:
    """A child in a process group of its own, so what it forked (the worker's pool) can be
    stopped with it, even after it was killed."""
    return subprocess.Popen(list(command), cwd=cwd, start_new_session=True)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Supervisor:
    """Starts named commands and restarts any that exits, by ``policy``; see the module."""

    def __init__(
        self,
        commands: dict[str, Sequence[str]],
        *,
        essential: str = "web",
        policy: RestartPolicy = RestartPolicy(),  # noqa: B008 (frozen, so shared safely)
        clock: Callable[[], float],
        spawn: Callable[[Sequence[str]], Process],
        log: Callable[[str], None] = print,
        on_exit: Callable[[Process], None] = lambda process: kill_group(process.pid),
    ):
        self.children = {name: Child(name, command) for name, command in commands.items()}
        self.essential, self.policy = essential, policy
        self.clock, self.spawn, self.log, self.on_exit = clock, spawn, log, on_exit
        self.stopped_because = ""

    def start(self) -> None:
        for child in self.children.values():
            self.launch(child)

    def launch(self, child: Child) -> None:
        child.process = self.spawn(child.command)
        child.start_at = None
        self.log(f"started {child.name} (pid {child.process.pid})")

    def check(self) -> bool:
        """Notice exits and start what is due; False once the demo must stop."""
        now = self.clock()
        for child in self.children.values():
            if child.start_at is not None and now >= child.start_at:
                child.restarts.append(now)
                self.launch(child)
            elif child.process is not None and child.process.poll() is not None:
                self.exited(child, now)
        return not self.stopped_because

    def exited(self, child: Child, now: float) -> None:
        process, child.process = child.process, None
        assert process is not None
        code = process.poll()
        self.on_exit(process)  # what it left behind (its pool's processes) goes with it
        while child.restarts and child.restarts[0] <= now - self.policy.window:
            child.restarts.popleft()
        recent = len(child.restarts)
        if recent >= self.policy.max_restarts:
            child.given_up = True
            message = (
                f"{child.name} exited (code {code}) after {recent} restarts within "
                f"{self.policy.window / 60:g} minutes: not restarting it; see its errors above"
            )
            if child.name == self.essential:
                self.stopped_because = message + "; stopping the demo"
            else:
                message += f". The {self.essential} server keeps running without it."
            self.log(message)
            return
        delay = self.policy.delay(recent)
        child.start_at = now + delay
        name = child.name
        self.log(f"{name} (pid {process.pid}) exited with code {code}: restarting in {delay:g} s")

    def running(self) -> list[Process]:
        return [c.process for c in self.children.values() if c.process is not None]
