"""Python processes forked from one that has already imported the libraries.

A ``manage.py check --deploy`` in a new interpreter spends about half its second importing
Django, Celery, kombu, anymail, psycopg and the rest, the same modules every time; the
production checks start thirty of them. ``PreloadedPython`` imports those libraries once,
in a process of its own, and forks it for each run. Nothing of the project is imported
before the fork and no setting has been read: each child takes its environment, working
directory and arguments, then reads the settings and imports the project as a fresh
interpreter would. Its output and exit status come back as ``subprocess.run``'s do.

The parent talks to the forking process in JSON lines over its stdin and stdout; a child's
own output goes to files, never to that channel.
"""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
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


class PreloadedPython:
    """``run(args, env, cwd)`` as ``subprocess.run([sys.executable, *args], ...)`` would,
    from a fork of a process that has imported ``PRELOAD``."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.answers = b""
        self.outputs = Path(tempfile.mkdtemp(prefix="preloaded-"))

    def run(self, args, env, cwd, timeout=60) -> subprocess.CompletedProcess:
        stdout, stderr = self.outputs / "stdout", self.outputs / "stderr"
        request = {"args": list(args), "env": env, "cwd": str(cwd)}
        request |= {"stdout": str(stdout), "stderr": str(stderr)}
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        pid = self.answer(timeout=10)["pid"]
        try:
            returncode = self.answer(timeout)["returncode"]
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.answer(timeout=10)
            raise subprocess.TimeoutExpired(args, timeout) from None
        return subprocess.CompletedProcess(
            args, returncode, stdout.read_text(errors="replace"), stderr.read_text(errors="replace")
        )

    def answer(self, timeout) -> dict:
        """The forking process's next line, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.answers:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                raise subprocess.TimeoutExpired("preloaded python", timeout)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"the forking process exited with {self.proc.wait()}")
            self.answers += chunk
        line, self.answers = self.answers.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def run_as_main(args: list[str]) -> None:
    """What ``python *args`` runs: ``-c code``, ``-m module`` or a script, as ``__main__``."""
    import runpy

    if args[0] == "-c":
        sys.argv, sys.path[0] = ["-c", *args[2:]], ""
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    elif args[0] == "-m":
        sys.argv, sys.path[0] = [args[1], *args[2:]], os.getcwd()
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv, sys.path[0] = args, str(Path(args[0]).resolve().parent)
        runpy.run_path(args[0], run_name="__main__")


def child(request: dict) -> int:
    for fd, name in ((1, "stdout"), (2, "stderr")):
        file = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(file, fd)
        os.close(file)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    try:
        run_as_main(request["args"])
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
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    channel = sys.stdout
    while line := sys.stdin.readline():
        request = json.loads(line)
        channel.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = child(request)
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        channel.write(json.dumps({"pid": pid}) + "\n")
        channel.flush()
        _, status = os.waitpid(pid, 0)
        channel.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve()
