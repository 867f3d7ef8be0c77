"""The demo's supervisor: backoff, giving up, and the web server outliving its worker.

A fake clock and fake processes drive ``superfast.supervisor.Supervisor`` through hours of
crashes in no time; the end-to-end test in tests/test_demo.py kills a real worker.
"""

import itertools

from superfast.supervisor import RestartPolicy, Supervisor


class FakeProcess:
    pids = itertools.count(100)

    def __init__(self, command):
        self.command, self.pid, self.code = command, next(self.pids), None

    def poll(self):
        return self.code


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def supervised(**policy):
    clock, lines, spawned = Clock(), [], []

    def spawn(command):
        spawned.append(FakeProcess(command))
        return spawned[-1]

    supervisor = Supervisor(
        {"web": ["web"], "worker": ["worker"], "beat": ["beat"]},
        policy=RestartPolicy(**policy),
        clock=clock,
        spawn=spawn,
        log=lines.append,
        on_exit=lambda process: None,
    )
    supervisor.start()
    return supervisor, clock, lines, spawned


def crash_and_wait_for_restart(supervisor, clock, name):
    """Kill ``name`` now; advance the clock in small steps until it runs again; the pause."""
    supervisor.children[name].process.code = -9
    died = clock.now
    assert supervisor.check()
    while supervisor.children[name].process is None and not supervisor.children[name].given_up:
        clock.now += 0.25
        assert supervisor.check()
    return clock.now - died


def test_a_dead_worker_is_restarted_after_pauses_doubling_from_1_s_to_30_s():
    supervisor, clock, lines, spawned = supervised()
    web, first_worker = supervisor.children["web"].process, supervisor.children["worker"].process
    pauses = [crash_and_wait_for_restart(supervisor, clock, "worker") for _ in range(7)]
    assert pauses == [1, 2, 4, 8, 16, 30, 30]
    assert supervisor.children["web"].process is web  # the web server never stopped
    assert f"worker (pid {first_worker.pid}) exited with code -9: restarting in 1 s" in lines
    assert lines[-1].startswith("started worker (pid ")


def test_the_pause_starts_again_at_1_s_once_the_crashes_are_five_minutes_old():
    supervisor, clock, lines, spawned = supervised()
    for _ in range(4):
        crash_and_wait_for_restart(supervisor, clock, "worker")
    clock.now += 301
    assert crash_and_wait_for_restart(supervisor, clock, "worker") == 1


def test_after_10_restarts_in_5_minutes_the_worker_is_given_up_and_the_web_server_stays():
    supervisor, clock, lines, spawned = supervised(max_delay=2)
    for _ in range(10):
        crash_and_wait_for_restart(supervisor, clock, "worker")
    assert clock.now < 300
    supervisor.children["worker"].process.code = 1
    assert supervisor.check()  # the demo goes on...
    clock.now += 600
    assert supervisor.check()
    assert supervisor.children["worker"].process is None  # ...without a worker
    assert supervisor.children["worker"].given_up
    assert lines[-1] == (
        "worker exited (code 1) after 10 restarts within 5 minutes: not restarting it; "
        "see its errors above. The web server keeps running without it."
    )
    assert {p.command[0] for p in supervisor.running()} == {"web", "beat"}


def test_a_web_server_that_keeps_dying_stops_the_demo_with_a_clear_message():
    supervisor, clock, lines, spawned = supervised(max_restarts=2)
    crash_and_wait_for_restart(supervisor, clock, "web")
    crash_and_wait_for_restart(supervisor, clock, "web")
    supervisor.children["web"].process.code = 3
    assert not supervisor.check()
    assert supervisor.stopped_because == (
        "web exited (code 3) after 2 restarts within 5 minutes: not restarting it; "
        "see its errors above; stopping the demo"
    )


def test_what_a_dead_process_left_behind_is_cleaned_up_when_it_exits():
    cleaned = []
    supervisor = Supervisor(
        {"worker": ["worker"]},
        clock=Clock(),
        spawn=FakeProcess,
        log=lambda line: None,
        on_exit=cleaned.append,
    )
    supervisor.start()
    worker = supervisor.children["worker"].process
    worker.code = -9
    supervisor.check()
    assert cleaned == [worker]
