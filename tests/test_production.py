"""The production image's steps, run natively: static files collected, pages served, DEBUG off."""

import json
import re

import pytest

from tests.support.preloaded import preloaded_python
from tests.support.processes import ROOT, child_env

pytestmark = pytest.mark.slow  # collects static files and serves pages from a process of its own

PAGE_PROBE = """
import django, json
django.setup()
from django.test import Client
client = Client(HTTP_HOST="news.example.org")
paths = ["/", "/archive/", "/subscribe/", "/admin/login/"]
pages = {path: client.get(path, secure=True) for path in paths}
print(json.dumps({path: [r.status_code, r.content.decode()] for path, r in pages.items()}))
"""


def production_env(static_root, **extra):
    return child_env(
        DEBUG="0",
        SECRET_KEY="production-test-secret-" + "x" * 40,
        ALLOWED_HOSTS="news.example.org",
        SITE_URL="https://news.example.org",
        STATIC_ROOT=static_root,
        **extra,
    )


def run(args, env):
    result = preloaded_python().run(args, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_collected_static_files_serve_pages_with_debug_off(db, tmp_path):
    """As the Dockerfile builds it: collectstatic with DEBUG off writes the hashed manifest
    that every page's {% static %} needs; without it every page would be a 500."""
    env = production_env(tmp_path / "static")
    run(["manage.py", "collectstatic", "--noinput", "-v0"], env)
    assert (tmp_path / "static" / "staticfiles.json").exists()

    pages = json.loads(run(["-c", PAGE_PROBE], env).strip().splitlines()[-1])
    for path, (status, _) in pages.items():
        assert status == 200, f"{path} answered {status}"
    # The page's own styles are inlined (first paint waits for no file); the dark palette
    # is linked, under its hashed name.
    assert re.search(r"/static/superfast/site-dark\.[0-9a-f]{12}\.css", pages["/archive/"][1])
