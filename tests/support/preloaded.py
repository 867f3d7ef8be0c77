"""Python processes forked from one that has already imported the libraries.

A new interpreter running ``manage.py`` or a Celery worker spends about half its first
second importing Django, Celery, kombu, anymail, psycopg and the rest: the same modules
every time, and the suite starts a few hundred such processes on two cores.
``PreloadedPython`` imports those libraries once, in a process of its own, and forks it for
each start. Nothing of the project is imported before the fork and no setting has been
read: each child takes its environment, working directory, arguments and session, then
reads the settings and imports the project as a fresh interpreter would.

``run`` answers as ``subprocess.run`` does; ``start`` gives a ``ForkedProcess``, which a
test uses as a ``subprocess.Popen`` (pid, poll, wait, send_signal, kill). The parent talks
to the forking process in JSON lines over its stdin and stdout; a child's own output goes
to files, never to that channel.
"""

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

# Libraries only: importing them reads no setting (django.conf.settings is lazy).
PRELOAD = (
    "django.db.models",
    "django.forms",
    "django.template",
    "django.core.management",
    "django.core.checks",
    "django.urls",
    "django.http",
    "django.contrib.admin",
    "django.db.backends.postgresql.base",
    "django.db.backends.sqlite3.base",
    "celery.app",
    "celery.bin.celery",
    "celery.worker",
    "celery.concurrency.prefork",
    "kombu.transport.redis",
    "redis",
    "psycopg",
    "anymail.backends.postmark",
    "anymail.webhooks.postmark",
    "requests",
    "PIL.Image",
    "markdown",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "logging.config",
)


class ForkedProcess:
    """A child of the forking process, used as a ``subprocess.Popen``: its exit status
    reaches this process as a line from the forking one."""

    def __init__(self, python, pid, args):
        self.python, self.pid, self.args = python, pid, args
        self.returncode = None

    def poll(self):
        self.returncode = self.python.exits.get(self.pid)
        return self.returncode

    def wait(self, timeout=None):
        with self.python.exited:
            if not self.python.exited.wait_for(lambda: self.poll() is not None, timeout):
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


class PreloadedPython:
    """Starts ``[sys.executable, *args]`` as forks of a process that imported ``PRELOAD``."""

    def __init__(self):
        self.proc = subprocess.Popen(
            # -u: unbuffered, as the children's PYTHONUNBUFFERED asks (their logs are read
            # while they run); a fork keeps the streams its parent opened.
            [sys.executable, "-u", "-m", __name__],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.outputs = Path(tempfile.mkdtemp(prefix="preloaded-"))
        self.lock = threading.Lock()  # one start at a time: the answer is its pid
        self.started: list[int] = []
        self.exits: dict[int, int] = {}
        self.exited = threading.Condition()
        threading.Thread(target=self.read_answers, daemon=True).start()

    def start(self, args, env, cwd, stdout, stderr=None, new_session=False) -> ForkedProcess:
        """``args`` run with ``env`` in ``cwd``, their output to the file ``stdout`` (and
        ``stderr``, or the same file); ``new_session`` as ``Popen``'s ``start_new_session``."""
        request = {"args": [str(a) for a in args], "env": env, "cwd": str(cwd)}
        request |= {"stdout": str(stdout), "stderr": str(stderr or stdout)}
        request |= {"new_session": new_session}
        with self.lock, self.exited:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            if not self.exited.wait_for(lambda: self.started, timeout=30):
                raise RuntimeError("the forking process does not answer")
            return ForkedProcess(self, self.started.pop(), args)

    def run(self, args, env, cwd, timeout=60) -> subprocess.CompletedProcess:
        name = uuid.uuid4().hex
        stdout, stderr = self.outputs / f"{name}.out", self.outputs / f"{name}.err"
        child = self.start(args, env, cwd, stdout, stderr)
        try:
            returncode = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        output = [path.read_text(errors="replace") for path in (stdout, stderr)]
        stdout.unlink()
        stderr.unlink()
        return subprocess.CompletedProcess(args, returncode, *output)

    def read_answers(self):
        for line in self.proc.stdout:
            answer = json.loads(line)
            with self.exited:
                if "pid" in answer:
                    self.started.append(answer["pid"])
                else:
                    self.exits[answer["exited"]] = answer["returncode"]
                self.exited.notify_all()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


_shared: PreloadedPython | None = None


def preloaded_python() -> PreloadedPython:
    """This test process's forking process, started on first use, stopped at its exit."""
    global _shared
    if _shared is None:
        _shared = PreloadedPython()
        atexit.register(_shared.close)
    return _shared


def run_as_main(args: list[str], pythonpath: list[str]) -> None:
    """What ``python *args`` runs: ``-c code``, ``-m module`` or a script, as ``__main__``,
    with the ``sys.path`` that interpreter would have."""
    import runpy

    first = {"-c": "", "-m": os.getcwd()}.get(args[0], str(Path(args[0]).resolve().parent))
    sys.path[:1] = [first, *pythonpath]
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    elif args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


def child(request: dict) -> int:
    """In the fork: become the process the request describes, run it, give its status."""
    import random

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if request["new_session"]:
        os.setsid()
    random.seed()  # a fork shares its parent's random state; a new interpreter would not
    for fd, name in ((1, "stdout"), (2, "stderr")):
        file = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(file, fd)
        os.close(file)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    pythonpath = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ.clear()
    os.environ.update(request["env"])
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    os.chdir(request["cwd"])
    try:
        run_as_main(request["args"], pythonpath)
    except SystemExit as exit:
        code = exit.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1
    return 0


def serve() -> None:
    """Fork a child for each request line; answer its pid, and later its exit status."""
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    sys.path[0] = ""  # each child sets its own first entry
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    channel, requests, pending = sys.stdout.buffer, sys.stdin.buffer.fileno(), b""

    def answer(message):
        channel.write(json.dumps(message).encode() + b"\n")
        channel.flush()

    while True:
        with contextlib.suppress(InterruptedError):
            ready, _, _ = select.select([requests, wakeup_read], [], [])
        if wakeup_read in ready:
            os.read(wakeup_read, 4096)
        while True:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid:
                    answer({"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})
                    continue
            break
        if requests in ready:
            chunk = os.read(requests, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                pid = os.fork()
                if pid == 0:
                    os.close(wakeup_read)
                    os.close(wakeup_write)
                    code = 1
                    try:
                        code = child(json.loads(line))
                    finally:
                        with contextlib.suppress(Exception):
                            sys.stdout.flush()
                            sys.stderr.flush()
                        os._exit(code)
                answer({"pid": pid})


if __name__ == "__main__":
    serve()
