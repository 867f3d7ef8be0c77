"""Retention: an old issue's ledger rows become counts; its reports read the same after."""

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from issues import delivery
from issues.models import Delivery, DeliveryTally, Dispatch
from issues.reports import delivery as delivery_reports
from issues.reports.engagement import issue_engagement
from issues.reports.retention import compact_old_deliveries
from tests.support.admin import staff
from tests.support.delivery import make_subscribers, wait_for_dispatch
from tests.support.factories import make_issue, make_newsletter
from tests.support.waiting import wait_until

A_YEAR_ON = timedelta(days=365)


def sent_issue(smtp_sink, slug, readers=300, rejected=7):
    issue = make_issue(make_newsletter(slug), frozen=True)
    people = make_subscribers(issue.newsletter, readers, prefix=slug)
    for reader in people[:rejected]:
        smtp_sink.replies[reader.email] = "550 5.1.1 No such mailbox here"
    return issue, wait_for_dispatch(delivery.start_dispatch(issue))


def report_page(client, issue):
    page = client.get(f"/admin/issues/issue/{issue.pk}/report/").text
    page = re.sub(r'<p class="help" id="report-rolled-up">.*?</p>', "", page)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_reports_of_an_old_issue_read_the_same_after_its_rows_are_rolled_up(
    start_worker, smtp_sink, client, django_capture_on_commit_callbacks
):
    start_worker()
    old, old_dispatch = sent_issue(smtp_sink, "spring")
    report_before = delivery_reports.report(old)
    progress_before = delivery_reports.progress(old_dispatch)
    engagement_before = issue_engagement(old)
    publisher = staff("publisher", "send_issue", "change_issue", "view_issue")
    client.force_login(publisher)
    page_before = report_page(client, old)
    assert report_before["counts"]["Sent"] == 293 and report_before["counts"]["Failed"] == 7

    # Nothing is old enough yet: retention leaves every row.
    assert compact_old_deliveries() == []
    assert Delivery.objects.filter(issue=old).count() == 300

    later = timezone.now() + A_YEAR_ON
    done = compact_old_deliveries(now=later)
    assert [(c.issue_id, c.rows) for c in done] == [(old.pk, 300)]
    assert not Delivery.objects.filter(issue=old).exists()
    assert DeliveryTally.objects.get(issue=old).completed_at is not None

    assert delivery_reports.report(old) == report_before
    assert delivery_reports.progress(old_dispatch) == progress_before
    assert issue_engagement(old) == engagement_before
    assert engagement_before.sent == 293
    assert report_page(client, old) == page_before
    page_after = client.get(f"/admin/issues/issue/{old.pk}/report/").text
    assert "was rolled up into these counts" in page_after
    assert compact_old_deliveries(now=later) == []  # a second run finds nothing

    # The rows that stopped duplicates are gone, so the issue cannot be sent again.
    with django_capture_on_commit_callbacks():
        response = client.post(f"/admin/issues/issue/{old.pk}/send/", follow=True)
    assert "its ledger is rolled up" in response.text
    assert Dispatch.objects.filter(issue=old).count() == 1
    with pytest.raises(CommandError, match="ledger is rolled up"):
        call_command("send_issue", str(old.pk))
    assert len([m for m in smtp_sink.messages if "spring" in m.rcpt_tos[0]]) == 293


def test_the_command_lists_then_compacts_in_chunks(start_worker, smtp_sink, settings, capsys):
    settings.DELIVERY_RETENTION_CHUNK = 64
    start_worker()
    old, _ = sent_issue(smtp_sink, "autumn", readers=200, rejected=3)
    report_before = delivery_reports.report(old)
    ended = Dispatch.objects.get(issue=old).finished_at
    wait_until(lambda: timezone.now() - ended > timedelta(seconds=1), what="a second since")
    second = str(1 / 86400)

    call_command("compact_deliveries", "--dry-run")  # the default: 180 days
    assert "0 issue(s) past 180" in capsys.readouterr().out
    call_command("compact_deliveries", "--dry-run", "--older-than", second)
    assert f"Would compact issue {old.pk}" in capsys.readouterr().out
    assert Delivery.objects.filter(issue=old).count() == 200

    call_command("compact_deliveries", "--older-than", second)
    out = capsys.readouterr().out
    assert f"Issue {old.pk}: 200 delivery row(s) rolled up." in out
    assert delivery_reports.report(old) == report_before
    with pytest.raises(CommandError, match="positive number of days"):
        call_command("compact_deliveries", "--older-than", "0")


def test_an_issue_with_a_send_still_to_come_is_never_compacted(start_worker, smtp_sink):
    start_worker()
    issue, _ = sent_issue(smtp_sink, "winter", readers=20, rejected=0)
    scheduled = delivery.start_dispatch(issue, when=timezone.now() + timedelta(days=30))
    assert scheduled.status == Dispatch.Status.SCHEDULED
    assert compact_old_deliveries(now=timezone.now() + A_YEAR_ON) == []
    assert Delivery.objects.filter(issue=issue).count() == 20
