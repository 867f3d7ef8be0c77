"""What the hostile review could not break, attacked again so it stays that way."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core import signing
from django.test import Client
from django.urls import reverse

from issues.models import Dispatch, Issue
from subscribers import services, tokens
from subscribers.models import Subscriber
from tests.support.factories import make_issue
from tests.support.subscribers import join_directly

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('xss')</script>"


def subscribe_json(client, email, ip="198.51.100.1"):
    return client.post(
        "/subscribe/",
        {"email": email, "newsletter": "weekly"},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_no_address_enumeration(client, newsletter):
    join_directly("active@example.net", [newsletter])
    services.subscribe("pending@example.net", [newsletter])
    answers = [
        subscribe_json(client, email, ip=f"198.51.100.{n}")
        for n, email in enumerate(["new@example.net", "pending@example.net", "active@example.net"])
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1


def test_bombing_one_inbox_stops_at_five_a_day(client, newsletter, settings):
    settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY = 5
    answers = [
        subscribe_json(client, "victim@example.net", ip=f"203.0.113.{n}").status_code
        for n in range(1, 9)
    ]
    assert answers == [200] * 5 + [429] * 3


def test_forged_replayed_and_expired_tokens_get_400(client, newsletter):
    reader = join_directly("reader@example.net", [newsletter])
    forged = signing.dumps([reader.pk, newsletter.pk], salt="guessed-salt", key="guessed-key")
    for path in (
        reverse("subscribers:unsubscribe", args=[forged]),
        reverse("subscribers:preferences", args=[forged]),
        reverse("subscribers:confirm", args=[forged]),
    ):
        assert client.get(path).status_code == 400, path
    pending = services.subscribe("late@example.net", [newsletter])
    nonce = pending.subscriptions.get().confirmation_nonce
    link = reverse(
        "subscribers:confirm", args=[tokens.confirmation_token(pending.pk, [newsletter.pk], nonce)]
    )
    assert client.post(link).status_code == 200
    services.unsubscribe(pending)
    assert client.post(link).status_code == 400  # replayed after leaving
    with _eight_days_ago():
        old = tokens.confirmation_token(pending.pk, [newsletter.pk], "x" * 32)
    assert client.post(reverse("subscribers:confirm", args=[old])).status_code == 400


def _eight_days_ago():
    from unittest import mock

    return mock.patch.object(signing.time, "time", return_value=signing.time.time() - 8 * 86400)


def test_confirm_and_erase_need_the_csrf_token(newsletter):
    browser = Client(enforce_csrf_checks=True)
    pending = services.subscribe("pending@example.net", [newsletter])
    nonce = pending.subscriptions.get().confirmation_nonce
    token = tokens.confirmation_token(pending.pk, [newsletter.pk], nonce)
    assert browser.post(reverse("subscribers:confirm", args=[token])).status_code == 403
    assert Subscriber.objects.get(pk=pending.pk).status == Subscriber.Status.PENDING
    reader = join_directly("reader@example.net", [newsletter])
    erase = reverse("subscribers:preferences", args=[tokens.preferences_token(reader.pk)])
    answer = browser.post(erase, {"action": "erase", "confirm_erase": "1"})
    assert answer.status_code == 403
    assert Subscriber.objects.filter(pk=reader.pk).exists()


def test_no_open_redirect_on_next(client):
    User.objects.create_superuser("boss", "boss@example.org", "pw-for-tests")
    response = client.post(
        "/admin/login/?next=https://evil.example/steal",
        {"username": "boss", "password": "pw-for-tests", "next": "https://evil.example/steal"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_xss_in_titles_and_search_is_escaped(client, newsletter):
    issue = make_issue(newsletter, f"Harbour {SCRIPT}", preheader=SCRIPT, days_ago=0)
    for path in ["/", "/archive/", issue.get_absolute_url(), f"/search/?q={SCRIPT}"]:
        page = client.get(path).content.decode()
        assert SCRIPT not in page, path
        assert "alert(" not in page or "&lt;script&gt;" in page, path


def test_drafts_do_not_leak(client, newsletter):
    make_issue(newsletter, "Published harbour log", days_ago=2)
    draft = make_issue(
        newsletter, "Secret embargoed plan", status=Issue.Status.DRAFT, topic="dockside"
    )
    assert client.get(draft.get_absolute_url()).status_code == 404
    for path in ["/", "/archive/", "/feed/", "/feed/atom/", "/sitemap.xml", "/search/?q=embargoed"]:
        page = client.get(path).content.decode()
        assert "Secret embargoed plan" not in page and draft.get_absolute_url() not in page, path


def test_upload_names_cannot_climb_out_of_the_media_folder(client, newsletter, settings, tmp_path):
    from issues.compose import images
    from tests.support.composing import image_bytes, upload

    settings.MEDIA_ROOT = tmp_path / "media"
    stored = images.store_upload(upload(image_bytes((20, 10)), "../../../etc/cron.d/x.png"))
    assert stored.path.startswith("images/") and ".." not in stored.path
    assert (tmp_path / "media" / stored.path).exists()


def test_exports_escape_spreadsheet_formulas(client, newsletter):
    join_directly("reader@example.net", [newsletter], name='=HYPERLINK("http://evil.example")')
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-tests"))
    response = client.get("/admin/subscribers/subscriber/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["name"].startswith("'=")


def test_sending_without_send_issue_is_403(client, newsletter):
    issue = make_issue(newsletter, "Draft to send", status=Issue.Status.DRAFT, topic="dockside")
    editor = User.objects.create_user("editor", password="pw-for-tests", is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(codename__in=["view_issue", "change_issue"])
    )
    client.force_login(editor)
    for page in ["send", "schedule"]:
        assert client.post(f"/admin/issues/issue/{issue.pk}/{page}/").status_code == 403
    assert not Dispatch.objects.exists()
