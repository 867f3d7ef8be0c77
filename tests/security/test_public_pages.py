"""Findings 10 and 11 and the public pages' headers, attacked over HTTP."""

import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from subscribers import tokens
from tests.support.factories import make_issue
from tests.support.processes import ROOT, child_env
from tests.support.subscribers import join_directly

pytestmark = pytest.mark.django_db

HEALTH_PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


@pytest.mark.slow  # starts a Django process
def test_healthz_tells_the_public_only_ok_or_error_and_logs_the_details():
    result = subprocess.run(
        [sys.executable, "-c", HEALTH_PROBE],
        cwd=ROOT,
        env=child_env(DATABASE_URL="postgres://dbadmin@127.0.0.1:9/customers"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert json.loads(answer["body"]) == {"database": "error", "broker": "ok"}
    for detail in ["127.0.0.1", "dbadmin", "customers", "port"]:
        assert detail not in answer["body"]
    assert "127.0.0.1" in result.stderr and "database" in result.stderr  # in the log


@pytest.fixture
def sent_issue(newsletter):
    return make_issue(newsletter, "Harbour log", days_ago=1)


def test_junk_query_parameters_share_the_archive_page_cache_entry(client, sent_issue):
    """``?x=1``, ``?x=2``... used to store one cached page each, for a day."""
    answers = [client.get("/archive/", {"x": n}) for n in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len({a["ETag"] for a in answers}) == 1
    assert client.get("/archive/")["ETag"] == answers[0]["ETag"]
    assert (
        client.get("/archive/", {"page": 1, "utm_source": "feed"})["ETag"] == (answers[0]["ETag"])
    )
    assert (
        client.get("/archive/", {"year": sent_issue.published_at.year})["ETag"]
        != (answers[0]["ETag"])
    )


def public_paths(issue, reader):
    return [
        "/",
        "/archive/",
        issue.get_absolute_url(),
        "/search/?q=harbour",
        "/subscribe/",
        reverse("subscribers:unsubscribe", args=[tokens.unsubscribe_token(reader.pk, 1)]),
        reverse("subscribers:preferences", args=[tokens.preferences_token(reader.pk)]),
    ]


def test_public_pages_carry_a_content_security_policy(client, sent_issue, newsletter):
    reader = join_directly("reader@example.net", [newsletter])
    for path in public_paths(sent_issue, reader):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, path
        assert (
            "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        ), path
        assert "frame-ancestors 'none'" in policy, path


def test_shared_caches_keep_a_public_page_only_briefly(client, sent_issue):
    """An unpublished issue must leave shared caches within a minute, not after 5."""
    for path in ["/", "/archive/", sent_issue.get_absolute_url()]:
        directives = dict(
            part.strip().partition("=")[::2]
            for part in client.get(path)["Cache-Control"].split(",")
        )
        assert "public" in directives
        assert int(directives["s-maxage"]) <= 60, path


def test_the_unsubscribe_page_hands_out_no_preferences_link(client, newsletter):
    """An unsubscribe-only token must not turn into rights to download and erase."""
    reader = join_directly("reader@example.net", [newsletter])
    url = reverse(
        "subscribers:unsubscribe", args=[tokens.unsubscribe_token(reader.pk, newsletter.pk)]
    )
    asking = client.get(url)
    done = client.post(url)
    for page in (asking, done):
        assert page.status_code == 200
        assert b"/preferences/" not in page.content


def test_the_admin_email_preview_is_sandboxed(client, sent_issue):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-tests"))
    url = reverse("admin:issues_issue_preview_channel", args=[sent_issue.pk, "email"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Security-Policy"].split(";")[0].strip() == "sandbox"
