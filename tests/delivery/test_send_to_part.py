"""Sending an issue to part of the list (a tag, a segment), then to the rest, exactly once."""

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from issues.delivery import plan_dispatch
from issues.models import Delivery, Dispatch
from subscribers import services
from subscribers.models import Segment, Subscriber, Tag
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.delivery import confirm_and_send, make_subscribers, wait_for_dispatch
from tests.support.factories import make_issue, make_newsletter
from tests.support.forms import as_post_data, submitted_fields


def admin_url(issue, page):
    return f"/admin/issues/issue/{issue.pk}/{page}/"


def recipients_of(sink):
    return Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def tag(name, subscribers):
    found = Tag.objects.create(name=name)
    services.add_tag(Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]), found)
    return found


@pytest.fixture
def publisher(db):
    return staff("publisher", "send_issue", "change_issue", "view_issue")


def test_a_tag_first_then_the_rest_reaches_everyone_exactly_once(
    client, publisher, start_worker, smtp_sink
):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 2000)
    researchers = tag("researchers", readers[::5])  # 400 of them
    bounced = make_subscribers(issue.newsletter, 3, prefix="bounced", status="bounced")
    tag("researchers-too", bounced)
    start_worker()
    client.force_login(publisher)

    page, first = confirm_and_send(client, issue, f"tag:{researchers.pk}")
    assert 'id="recipient-count">400<' in page
    assert "Yes, send to 400 recipients in subscribers tagged “researchers”" in page
    wait_for_dispatch(first)
    assert first.tag == researchers
    received = recipients_of(smtp_sink)
    assert set(received) == {reader.email for reader in readers[::5]}
    assert set(received.values()) == {1}

    # The issue is sent (its page is public), yet the rest of the list may follow.
    change = client.get(f"/admin/issues/issue/{issue.pk}/change/").content.decode()
    assert "Send to the rest…" in change and "Schedule the rest…" in change
    page, rest = confirm_and_send(client, issue)
    assert 'id="recipient-count">1600<' in page and "not sent this issue yet" in page
    assert "it goes now only to those who have not received it" in page
    wait_for_dispatch(rest)
    assert rest.planned_count == 1600

    received = recipients_of(smtp_sink)
    assert set(received) == {reader.email for reader in readers}
    assert set(received.values()) == {1}
    assert Delivery.objects.filter(issue=issue, status="sent").count() == 2000
    change = client.get(f"/admin/issues/issue/{issue.pk}/change/").content.decode()
    assert "Send to the rest" not in change and admin_url(issue, "send") not in change
    issue.refresh_from_db()
    assert issue.status == "sent"


def test_a_segments_live_count_is_what_a_send_to_it_delivers(
    client, start_worker, smtp_sink, django_user_model
):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 600)
    press, vip = tag("press", readers[:300]), tag("vip", readers[250:320])
    services.unsubscribe(readers[0])  # tagged, but no longer a reader
    other = make_newsletter(slug="elsewhere", name="Elsewhere")
    press.subscribers.add(*make_subscribers(other, 20, prefix="other"))  # not this newsletter
    segment = Segment.objects.create(name="Press, not VIPs", newsletter=issue.newsletter)
    segment.tags_any.set([press])
    segment.tags_none.set([vip])

    editor = django_user_model.objects.create_superuser("chief", "chief@example.org", "pw-42-x")
    client.force_login(editor)
    page = client.get(f"/admin/subscribers/segment/{segment.pk}/change/").content.decode()
    assert '">249</output> active subscribers' in page  # 1..249: readers[0] left

    start_worker()
    out = io.StringIO()
    call_command("send_issue", str(issue.pk), segment="press, NOT vips", wait=True, stdout=out)
    assert "to segment “Press, not VIPs”" in out.getvalue()
    assert "249 recipient(s) to plan" in out.getvalue()
    received = recipients_of(smtp_sink)
    assert set(received) == {reader.email for reader in readers[1:250]}
    assert set(received.values()) == {1}


def test_send_issue_names_unknown_tags_and_segments(db):
    issue = make_issue(frozen=True)
    Tag.objects.create(name="researchers")
    other = make_newsletter(slug="elsewhere", name="Elsewhere")
    Segment.objects.create(name="Other list", newsletter=other)
    with pytest.raises(CommandError, match=r"No tag 'nobody'\. Known: 'researchers'"):
        call_command("send_issue", str(issue.pk), tag="nobody")
    with pytest.raises(CommandError, match=r"No segment 'nothing'\. Known: 'Other list'"):
        call_command("send_issue", str(issue.pk), segment="nothing")
    with pytest.raises(CommandError, match=r"is for Elsewhere, not The Weekly\."):
        call_command("send_issue", str(issue.pk), segment="other list")
    with pytest.raises(CommandError):
        call_command("send_issue", str(issue.pk), "--tag", "researchers", "--segment", "x")
    assert not Dispatch.objects.exists()


def test_forged_audiences_are_refused_and_nothing_is_sent(client, publisher, db):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 5)
    other = make_newsletter(slug="elsewhere", name="Elsewhere")
    foreign = Segment.objects.create(name="Other list", newsletter=other)
    client.force_login(publisher)

    for forged in (f"segment:{foreign.pk}", "tag:99999", "segment:abc", "everyone"):
        page = client.post(admin_url(issue, "send"), {"audience": forged})
        assert page.status_code == 200
        assert "Choose everyone, one of the segments or one of the tags listed." in page.text
        assert 'id="send-form"' not in page.text
    assert f"segment:{foreign.pk}" not in client.get(admin_url(issue, "send")).text
    assert not Dispatch.objects.exists()

    readers_tag = Tag.objects.create(name="readers")
    editor = staff("composer", "change_issue", "view_issue")
    client.force_login(editor)
    assert (
        client.post(admin_url(issue, "send"), {"audience": f"tag:{readers_tag.pk}"}).status_code
        == 403
    )

    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=publisher.username, password=STAFF_PASSWORD)
    no_token = browser.post(admin_url(issue, "send"), {"audience": f"tag:{readers_tag.pk}"})
    assert no_token.status_code == 403
    assert not Dispatch.objects.exists()


def test_scheduling_to_a_segment_names_it_and_keeps_it_through_the_time_step(client, publisher, db):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 10)
    researchers = tag("researchers", readers[:4])
    segment = Segment.objects.create(name="Researchers")
    segment.tags_any.set([researchers])
    client.force_login(publisher)

    choose = client.get(admin_url(issue, "schedule"), {"audience": f"segment:{segment.pk}"})
    assert 'id="recipient-count">4<' in choose.text and "the segment “Researchers”" in choose.text
    when = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    step = as_post_data(submitted_fields(choose.text, "schedule-when-form"))
    confirm = client.get(admin_url(issue, "schedule"), {**step, "when": when})
    assert "Yes, schedule it" in confirm.text
    fields = as_post_data(submitted_fields(confirm.text, "schedule-form"))
    assert fields["audience"] == f"segment:{segment.pk}"
    client.post(admin_url(issue, "schedule"), fields)
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.segment) == ("scheduled", segment)
    delivery_page = client.get(admin_url(issue, "delivery")).text
    assert 'to <span id="dispatch-audience">segment “Researchers”</span>' in delivery_page


def test_a_segment_that_cannot_be_evaluated_any_more_holds_its_dispatch(db):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 5)
    issue.newsletter.subscriber_history = True
    issue.newsletter.save()
    quiet = Segment.objects.create(name="Quiet ones", newsletter=issue.newsletter)
    quiet.never_clicked = True
    quiet.save()
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot, segment=quiet)
    issue.newsletter.subscriber_history = False  # turned off between confirming and planning
    issue.newsletter.save()

    assert plan_dispatch(dispatch) == 0
    dispatch.refresh_from_db()
    assert dispatch.status == "held"
    assert "segment “Quiet ones” cannot be used" in dispatch.pause_reason
    assert "does not keep per-subscriber click history" in dispatch.pause_reason
    assert not Delivery.objects.exists()  # never "everyone" instead
