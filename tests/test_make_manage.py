"""`make manage CMD="…"` runs any management command against the demo's database, with the
demo's settings (DEBUG on, the defaults under VAR_DIR), from a shell that set nothing.

Its output is the command's alone, so `make manage CMD="export_issue 3" > issue.md` writes
the Markdown.
"""

import re
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, child_env

pytestmark = pytest.mark.slow  # three Django processes of its own


def make_manage(command, var_dir):
    """``make manage`` as a shell with none of the settings' variables runs it."""
    embedded = dict.fromkeys(["DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DEBUG"])
    return subprocess.run(
        ["make", "--no-print-directory", "manage", f"CMD={command}"],
        cwd=ROOT,
        env=child_env(VAR_DIR=var_dir, **embedded),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_make_manage_runs_commands_against_the_demos_database(tmp_path):
    var_dir = tmp_path / "var"
    migrated = make_manage("migrate --verbosity 0", var_dir)
    assert migrated.returncode == 0, migrated.stderr
    assert (var_dir / "superfast.sqlite3").is_file()  # the demo's database, by its defaults

    (tmp_path / "issue.md").write_text("# Made with make\n\nHello, **readers**.\n")
    imported = make_manage(f"import_issue {tmp_path / 'issue.md'}", var_dir)
    assert imported.returncode == 0, imported.stderr
    issue_id = re.search(r"id (\d+)", imported.stdout)[1]

    exported = make_manage(f"export_issue {issue_id}", var_dir)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == "# Made with make\n\nHello, **readers**.\n"


def test_a_command_without_debug_says_how_to_reach_the_demos_database(tmp_path):
    embedded = dict.fromkeys(["DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DEBUG"])
    bare = subprocess.run(
        [sys.executable, "manage.py", "export_issue", "3"],
        cwd=ROOT,
        env=child_env(VAR_DIR=tmp_path, **embedded),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bare.returncode != 0
    assert 'make manage CMD="…"' in bare.stderr
