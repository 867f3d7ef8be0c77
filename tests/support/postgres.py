"""A PostgreSQL 15 cluster of a test's own, which the test may restart.

The shared server on 127.0.0.1:5432 serves everyone's tests and must never be restarted;
this one lives in a temporary directory owned by ``postgres`` (the server refuses to run as
root), listens on a free loopback port, and is removed afterwards.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from .processes import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def as_postgres(*command, check=True):
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *map(str, command)],
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
    )


class PrivatePostgres:
    def __init__(self):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="superfast-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/superfast"

    def create(self):
        as_postgres(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        as_postgres(BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "superfast")
        return self

    def ctl(self, *args):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.folder / "server.log"
        return as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", *args)

    def start(self):
        self.ctl("start")

    def restart(self):
        """Stop (closing every connection at once) and start again."""
        self.ctl("-m", "fast", "restart")

    def destroy(self):
        self.ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
