"""Sending from the admin: confirm, schedule, control, progress and report pages."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from issues import delivery
from issues.models import Dispatch
from tests.support.admin import log_into_admin, staff
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue


@pytest.fixture
def publisher(db):
    return staff("publisher", "send_issue", "change_issue", "view_issue")


@pytest.fixture
def editor(db):
    return staff("editor", "change_issue", "view_issue")


@pytest.fixture
def issue(db):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 7)
    make_subscribers(issue.newsletter, 2, prefix="unconfirmed", status="pending")
    return issue


def admin_url(issue, page):
    return f"/admin/issues/issue/{issue.pk}/{page}/"


@pytest.mark.parametrize("page", ["send", "schedule", "delivery", "progress", "report"])
def test_an_editor_without_the_send_permission_gets_403(client, editor, issue, page):
    client.force_login(editor)
    assert client.get(admin_url(issue, page)).status_code == 403
    assert client.post(admin_url(issue, page)).status_code == 403
    assert not Dispatch.objects.exists()


def test_only_publishers_see_the_send_buttons_on_the_issue(client, editor, publisher, issue):
    client.force_login(editor)
    assert "Send now" not in client.get(f"/admin/issues/issue/{issue.pk}/change/").text
    client.force_login(publisher)
    page = client.get(f"/admin/issues/issue/{issue.pk}/change/").text
    assert admin_url(issue, "send") in page and admin_url(issue, "schedule") in page


def test_send_now_confirms_with_the_exact_count_then_starts_one_dispatch(
    client, publisher, issue, django_capture_on_commit_callbacks
):
    client.force_login(publisher)
    page = client.get(admin_url(issue, "send")).text
    assert 'id="recipient-count">7<' in page
    assert issue.newsletter.name in page and issue.subject in page
    assert not Dispatch.objects.exists()  # looking is not sending

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(admin_url(issue, "send"))
        client.post(admin_url(issue, "send"))  # a second click
    assert response.url == admin_url(issue, "delivery")
    dispatch = Dispatch.objects.get()
    assert dispatch.created_by == publisher and dispatch.status == "planning"
    assert len(queued) == 1  # one plan task


def test_schedule_refuses_the_past_and_confirms_a_future_time(client, publisher, issue):
    client.force_login(publisher)
    past = client.get(admin_url(issue, "schedule"), {"when": "2001-01-01T09:00"}).text
    assert "Pick a time in the future" in past
    nonsense = client.get(admin_url(issue, "schedule"), {"when": "tuesday"}).text
    assert "is not a date and time" in nonsense
    when = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    confirm = client.get(admin_url(issue, "schedule"), {"when": when}).text
    assert "Yes, schedule it" in confirm and 'id="recipient-count">7<' in confirm
    assert not Dispatch.objects.exists()
    client.post(admin_url(issue, "schedule"), {"when": when})
    dispatch = Dispatch.objects.get()
    assert dispatch.status == "scheduled"
    assert dispatch.scheduled_for.strftime("%Y-%m-%dT%H:%M") == when
    issue.refresh_from_db()
    assert issue.status == "scheduled"


def test_progress_json_and_controls(client, publisher, issue, smtp_sink, settings):
    client.force_login(publisher)
    settings.SEND_BATCH_SIZE = 4
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    # The fourth recipient the batch reaches is refused: rows due at the same moment are
    # claimed in no particular order, so the refusal cannot be tied to an address.
    reached = []

    def fourth_refused(address):
        reached.append(address)
        return "550 5.1.1 gone" if len(reached) == 4 else None

    for row in dispatch.deliveries.select_related("subscriber"):
        smtp_sink.replies[row.subscriber.email] = fourth_refused
    delivery.send_next_batch(dispatch)  # 3 sent, 1 refused for good, 3 still to send

    progress = json.loads(client.get(admin_url(issue, "progress")).content)
    assert {k: progress[k] for k in ["planned", "sent", "failed", "pending"]} == {
        "planned": 7,
        "sent": 3,
        "failed": 1,
        "pending": 3,
    }
    assert progress["status"] == "sending" and not progress["done"]

    control = admin_url(issue, "control")
    client.post(control, {"action": "pause"})
    dispatch.refresh_from_db()
    assert dispatch.status == "paused"
    assert client.get(admin_url(issue, "delivery")).status_code == 200
    client.post(control, {"action": "retry"})
    assert dispatch.deliveries.filter(status="pending").count() == 4
    client.post(control, {"action": "cancel"})
    dispatch.refresh_from_db()
    assert dispatch.status == "cancelled"
    assert dispatch.deliveries.filter(status="sent").count() == 3  # sent stays sent
    assert client.get(control).status_code == 405


def test_report_groups_failures_by_reason(client, publisher, issue, smtp_sink):
    from anymail.signals import AnymailTrackingEvent, tracking

    client.force_login(publisher)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    rows = list(dispatch.deliveries.select_related("subscriber").order_by("id"))
    for row in rows[:3]:
        smtp_sink.replies[row.subscriber.email] = "550 no user"
    smtp_sink.replies[rows[3].subscriber.email] = "552 full"
    delivery.run_sender(dispatch.pk)
    sent = dispatch.deliveries.select_related("subscriber").get(pk=rows[4].pk)
    event = AnymailTrackingEvent(
        event_type="bounced", message_id=sent.message_id, recipient=sent.subscriber.email
    )
    tracking.send(sender=object, event=event, esp_name="Test")
    page = client.get(admin_url(issue, "report")).text
    assert "<td>550 no user</td><td>3</td>" in page
    assert "<td>552 full</td><td>1</td>" in page
    assert "ESP events: bounced" in page


@pytest.mark.browser
def test_delivery_page_updates_its_progress_bar_without_reload(
    live_server, page, artifacts_dir, transactional_db, smtp_sink, settings
):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 40)
    publisher = staff("publisher", "send_issue", "change_issue", "view_issue")
    assert publisher.has_perm("issues.send_issue")
    log_into_admin(page, live_server.url, "publisher", "a-long-test-password")

    page.goto(f"{live_server.url}{admin_url(issue, 'send')}")
    assert page.inner_text("#recipient-count") == "40"
    page.screenshot(path=artifacts_dir / "delivery-send-confirm.png", full_page=True)

    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)
    page.goto(f"{live_server.url}{admin_url(issue, 'delivery')}")
    assert page.inner_text("#figure-sent") == "0"
    rows = list(dispatch.deliveries.select_related("subscriber").order_by("id"))
    for row in rows[25:28]:
        smtp_sink.replies[row.subscriber.email] = "550 5.1.1 no such user"
    settings.SEND_BATCH_SIZE = 28
    delivery.send_next_batch(dispatch)  # 25 sent, 3 refused, 12 still to send
    expect(page.locator("#figure-sent")).to_have_text("25")
    assert page.inner_text("#figure-failed") == "3"
    assert page.inner_text("#figure-pending") == "12"
    page.screenshot(path=artifacts_dir / "delivery-progress.png", full_page=True)

    page.click("button[value=pause]")
    assert "Paused" in page.inner_text("#progress-status")
    page.goto(f"{live_server.url}{admin_url(issue, 'report')}")
    page.screenshot(path=artifacts_dir / "delivery-report.png", full_page=True)


@pytest.mark.browser
def test_delivery_page_drops_cancel_and_pause_once_the_dispatch_is_done(
    live_server, page, artifacts_dir, transactional_db, smtp_sink
):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 3)
    staff("publisher", "send_issue", "change_issue", "view_issue")
    log_into_admin(page, live_server.url, "publisher", "a-long-test-password")
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    delivery.plan_dispatch(dispatch)

    page.goto(f"{live_server.url}{admin_url(issue, 'delivery')}")
    assert page.locator("button[value=cancel]").count() == 1
    delivery.run_sender(dispatch.pk)  # sends all three and finishes the dispatch

    page.wait_for_selector("#finished-facts", timeout=15_000)  # reloaded once done
    assert page.locator("button[value=cancel]").count() == 0
    assert page.locator("button[value=pause]").count() == 0
    assert page.inner_text("#progress-status") == "Done"
    facts = page.inner_text("#finished-facts")
    assert "Duration" in facts and "Average rate" in facts and "messages/s" in facts
    assert "Started" in facts and "Finished" in facts
    report_link = page.locator("#finished-facts a", has_text="Delivery report")
    assert report_link.get_attribute("href") == admin_url(issue, "report")
    assert page.locator(f"#finished-facts a[href='{issue.get_absolute_url()}']").count() == 1
    page.screenshot(path=artifacts_dir / "delivery-done.png", full_page=True)
