"""``make soak``'s demo part, for 20 s instead of an hour, so the script cannot rot.

It starts ``make demo`` (SQLite, the embedded broker, the supervisor), imports, sends, kills
the worker and beat with ``kill -9``, restarts the demo with an admin logged in, and counts
every reader's copies of every issue (bench/soak_demo.py).
"""

import re
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, child_env


@pytest.mark.slow
@pytest.mark.worker  # the demo it starts runs a Celery worker and beat
def test_the_demo_soak_survives_kills_and_a_restart_and_mails_everyone_once():
    env = child_env(SOAK_SECONDS="20", SOAK_SUBSCRIBERS="200", SOAK_IMPORT_ROWS="20")
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak_demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    line = re.search(r"^SOAK demo .*$", done.stdout, re.MULTILINE).group(0)
    figures = dict(field.split("=") for field in line.split()[2:])
    assert figures["duplicates"] == "0" and figures["missing"] == "0" and figures["ok"] == "yes"
    assert int(figures["kills"]) >= 2 and int(figures["restarts"]) >= 1
    assert int(figures["sends"]) >= 2 and int(figures["messages"]) >= 2 * 205
