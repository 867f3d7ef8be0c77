"""A subject test's verdict as editors read it: rates beside counts (the variants differ in
size), how a tie is decided, and a warning when the winner was picked on too little data."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from issues.delivery import plan_dispatch, run_sender
from issues.delivery.lifecycle import frozen_snapshot
from issues.delivery.subject_tests import create_test, decide_due_tests, validate_setup
from issues.models import Dispatch
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, links_by_reader
from tests.support.factories import make_issue


def test_a_winner_picked_on_one_click_comes_with_rates_the_tie_rule_and_a_warning(
    admin_client, client, smtp_sink, settings
):
    settings.REDIS_URL = ""  # each click stored as it comes
    settings.SUBJECT_TEST_MIN_CLICKERS = 20
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 30)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=frozen_snapshot(issue))
    setup = validate_setup(issue, [issue.subject, "B wins"], 50, timedelta(hours=4), "clicks")
    create_test(dispatch, setup)
    plan_dispatch(dispatch)
    run_sender(dispatch.pk)  # the test group: 15 readers, 8 of A and 7 of B
    b_reader = next(m.rcpt_tos[0] for m in smtp_sink.messages if m.message["Subject"] == "B wins")
    link = links_by_reader(smtp_sink)[b_reader][1]
    assert client.get(link, HTTP_USER_AGENT=BROWSER).status_code == 302

    assert decide_due_tests(now=timezone.now() + timedelta(hours=5)) == [dispatch.pk]
    progress = admin_client.get(reverse("admin:issues_issue_progress", args=[issue.pk])).json()
    test = progress["subject_test"]
    rows = [
        (v["letter"], v["sent"], v["unique_clickers"], v["click_rate_label"])
        for v in test["variants"]
    ]
    assert rows == [("A", 8, 0, "0.0%"), ("B", 7, 1, "14.3%")]
    assert "earlier subject" in test["tie_rule"]
    assert test["data_warning"] == (
        "Picked on too little data: 1 reader clicked in the test, fewer than the 20 "
        "a verdict needs (SUBJECT_TEST_MIN_CLICKERS). The difference may be chance."
    )
    report = admin_client.get(reverse("admin:issues_issue_report", args=[issue.pk]))
    page = report.content.decode()
    assert "14.3%" in page and "Picked on too little data" in page and "earlier subject" in page
