"""A/B subject tests: set up on the send confirmation page, decided by people's clicks,
durable across a killed worker, each recipient exactly once."""

from collections import Counter

import pytest
from django.urls import reverse

from issues.models import Delivery, Dispatch, SubjectTest
from subscribers.models import Subscriber, Tag
from subscribers.services import add_tag
from tests.support.admin import STAFF_PASSWORD, log_into_admin, make_editor, staff
from tests.support.delivery import children_of, kill_hard, make_subscribers, wait_for_dispatch
from tests.support.engagement import issue_linking_to, request, tracked_links
from tests.support.waiting import wait_until

SUBJECT_B = "Five papers, one quiz: the small-model week"


def send_url(issue):
    return reverse("admin:issues_issue_send", args=[issue.pk])


def ab_form(**changes):
    form = {
        "subject": [SUBJECT_B, "", ""],
        "test_percent": "20",
        "test_wait": "15 s",
        "test_criterion": "clicks",
    }
    return {**form, **changes}


def test_the_winner_goes_to_the_rest_and_a_worker_killed_during_the_wait_changes_nothing(
    site,
    targets,
    click_buffer,
    start_worker_and_beat,
    smtp_sink,
    admin_client,
):
    issue = issue_linking_to(targets.url)
    # The researchers get the issue first, with the test; everyone else after the verdict.
    readers = make_subscribers(issue.newsletter, 400)
    others = make_subscribers(issue.newsletter, 100, prefix="other")
    researchers = Tag.objects.create(name="researchers")
    add_tag(Subscriber.objects.filter(pk__in=[r.pk for r in readers]), researchers)

    def worker_with_beat():
        return start_worker_and_beat(REDIS_URL=click_buffer.url)

    worker = worker_with_beat()
    pids = [*children_of(worker.pid), worker.pid]

    form = ab_form(audience=f"tag:{researchers.pk}")
    assert admin_client.post(send_url(issue), form).status_code == 302
    dispatch = Dispatch.objects.get(issue=issue)
    test = SubjectTest.objects.get(dispatch=dispatch)
    assert test.subjects == [issue.subject, SUBJECT_B]

    # The test group (20%: 80 readers, 40 per subject) is sent; the rest is held.
    tested = dispatch.deliveries.filter(variant__isnull=False)
    wait_until(
        lambda: tested.filter(status="sent").count() == 80,
        timeout=60,
        what="the test group sent",
    )
    kill_hard(worker, pids)  # during the wait: nothing is in flight, the wait is a row
    test.refresh_from_db()
    assert test.status == SubjectTest.Status.TESTING, "the wait ran out before the kill"
    assert dispatch.deliveries.filter(status="held").count() == 320
    by_subject = Counter(m.message["Subject"] for m in smtp_sink.messages)
    assert by_subject == {issue.subject: 40, SUBJECT_B: 40}

    # People click: ten readers of B, two of A, through the real redirect of the live site.
    clicked = {issue.subject: 0, SUBJECT_B: 0}
    for message in (m.message for m in smtp_sink.messages):
        subject = message["Subject"]
        if clicked[subject] < (10 if subject == SUBJECT_B else 2):
            status, _, _ = request(tracked_links(message)[0][1])  # [0] is the hidden canary
            assert status == 200
            clicked[subject] += 1

    worker_with_beat()
    wait_for_dispatch(dispatch, timeout=120)

    received = Counter(rcpt for m in smtp_sink.messages for rcpt in m.rcpt_tos)
    assert set(received) == {r.email for r in readers}, "someone was missed"
    assert set(received.values()) == {1}, "someone got two copies"
    rest = {m.rcpt_tos[0] for m in smtp_sink.messages[80:]}
    assert len(rest) == 320
    assert {m.message["Subject"] for m in smtp_sink.messages[80:]} == {SUBJECT_B}
    test.refresh_from_db()
    assert (test.status, test.winner) == (SubjectTest.Status.DECIDED, 1)
    assert test.figures["1"]["unique_clickers"] == 10 and test.figures["0"]["unique_clickers"] == 2
    assert set(Delivery.objects.filter(issue=issue).values_list("variant", flat=True)) == {0, 1}

    # The progress JSON and the report show each variant's figures and the winner.
    progress = admin_client.get(reverse("admin:issues_issue_progress", args=[issue.pk])).json()
    variants = progress["subject_test"]["variants"]
    assert [(v["subject"], v["sent"], v["unique_clickers"], v["is_winner"]) for v in variants] == [
        (issue.subject, 40, 2, False),
        (SUBJECT_B, 40, 10, True),
    ]
    report = admin_client.get(reverse("admin:issues_issue_report", args=[issue.pk]))
    assert "Winner: sent to the rest" in report.content.decode()

    # Then everyone else, from the same page: under the winning subject, once each.
    confirm = admin_client.get(send_url(issue)).context
    assert (confirm["subject"], confirm["recipient_count"]) == (SUBJECT_B, 100)
    assert admin_client.post(send_url(issue), {"audience": ""}).status_code == 302
    wait_for_dispatch(Dispatch.objects.filter(issue=issue).latest("pk"), timeout=60)
    later = smtp_sink.messages[400:]
    assert sorted(m.rcpt_tos[0] for m in later) == sorted(o.email for o in others)
    assert {m.message["Subject"] for m in later} == {SUBJECT_B}


def test_hostile_subject_test_input_is_refused_with_a_message_and_nothing_is_sent(admin_client, db):
    issue = issue_linking_to("https://example.org")
    make_subscribers(issue.newsletter, 5)
    refused = {
        "five subjects": ab_form(subject=["B one", "C two", "D three", "E four"]),
        "fraction 0": ab_form(test_percent="0"),
        "fraction 150%": ab_form(test_percent="150"),
        "not a number": ab_form(test_percent="twenty"),
        "negative wait": ab_form(test_wait="-5 s"),
        "two identical": ab_form(subject=[issue.subject.upper(), "", ""]),
        "opens unmeasured": ab_form(test_criterion="opens"),
        "forged criterion": ab_form(test_criterion="loudest"),
        "control character": ab_form(subject=["Hi\r\nBcc: all@example.org", "", ""]),
    }
    for case, form in refused.items():
        response = admin_client.post(send_url(issue), form)
        assert response.status_code == 400, case
        body = response.content.decode()
        assert 'id="subject-test-error"' in body, case
        if form["subject"][0] and "\r" not in form["subject"][0]:
            assert form["subject"][0] in body, f"{case}: the typed subject is lost"
    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()


def test_a_subject_test_needs_the_send_permission(client, db):
    issue = issue_linking_to("https://example.org")
    make_subscribers(issue.newsletter, 3)
    staff("writer", "view_issue", "change_issue")
    client.login(username="writer", password=STAFF_PASSWORD)
    assert client.post(send_url(issue), ab_form()).status_code == 403
    assert not Dispatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_setting_up_a_subject_test_in_a_browser(
    live_server, page, artifacts_dir, django_user_model
):
    from issues.delivery import plan_dispatch

    issue = issue_linking_to("https://example.org")
    make_subscribers(issue.newsletter, 50)
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}{send_url(issue)}")
    page.fill("#subject-1", SUBJECT_B)
    page.fill("#test-percent", "150")
    page.fill("#test-wait", "1 day")
    page.screenshot(path=artifacts_dir / "subject-test-setup.png", full_page=True)
    page.evaluate("document.querySelector('#test-percent').removeAttribute('max')")
    page.click("input[type=submit].default")
    assert "between 1% and 50%" in page.text_content("#subject-test-error")
    assert page.input_value("#subject-1") == SUBJECT_B  # nothing typed is lost
    page.fill("#test-percent", "20")
    page.click("input[type=submit].default")
    page.wait_for_url("**/delivery/")
    plan_dispatch(Dispatch.objects.get(issue=issue))  # what the worker's plan task runs
    page.reload()
    table = page.text_content("#subject-test")
    assert SUBJECT_B in table and issue.subject in table and "10 readers" in table
    page.screenshot(path=artifacts_dir / "subject-test-delivery.png", full_page=True)
