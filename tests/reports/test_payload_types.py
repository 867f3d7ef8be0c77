"""The progress JSON, the delivery report and ``issue_report --json`` carry exactly the
fields their TypedDicts declare: scripts read these payloads, and mypy checks only the code
that builds them, not what reaches a script."""

import json
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from issues.delivery import plan_dispatch, run_sender
from issues.delivery.subject_tests import SubjectTestProgress, VariantProgress
from issues.models import Dispatch
from issues.reports.delivery import DeliveryReport, Progress, report
from issues.reports.tables import EngagementReport, LinkReport
from tests.support.delivery import make_subscribers
from tests.support.engagement import issue_linking_to, send_in_process

SUBJECT_B = "The other subject"


def fields(typed_dict: type) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def test_progress_and_delivery_report_of_a_subject_test_have_exactly_their_typed_fields(
    admin_client, smtp_sink
):
    issue = issue_linking_to("https://example.org/paper")
    make_subscribers(issue.newsletter, 20)
    form = {"subject": [SUBJECT_B, "", ""], "test_percent": "20", "test_wait": "15 s"}
    form["test_criterion"] = "clicks"
    sent = admin_client.post(reverse("admin:issues_issue_send", args=[issue.pk]), form)
    assert sent.status_code == 302
    dispatch = Dispatch.objects.get(issue=issue)
    plan_dispatch(dispatch)  # what the worker's tasks do, here in this process
    run_sender(dispatch.pk)

    progress = admin_client.get(f"/admin/issues/issue/{issue.pk}/progress/").json()

    assert set(progress) == fields(Progress)
    assert (progress["sent"], progress["held"]) == (4, 16)  # the test group; the rest waits
    assert set(progress["subject_test"]) == fields(SubjectTestProgress)
    variants = progress["subject_test"]["variants"]
    assert [set(v) for v in variants] == [fields(VariantProgress)] * 2
    assert [v["subject"] for v in variants] == [issue.subject, SUBJECT_B]
    figures = report(issue)
    assert set(figures) == fields(DeliveryReport)
    assert figures["subject_test"] is not None
    assert figures["subject_test"]["held"] == 16


def test_issue_report_json_has_exactly_the_typed_fields_and_each_link_too(db, smtp_sink):
    issue = issue_linking_to("https://example.org/paper")
    make_subscribers(issue.newsletter, 3)
    send_in_process(issue)
    out = StringIO()

    call_command("issue_report", str(issue.pk), "--json", stdout=out)

    data = json.loads(out.getvalue())
    assert set(data) == fields(EngagementReport)
    assert data["sent"] == 3
    assert data["links"], "the issue links to a paper"
    assert [set(link) for link in data["links"]] == [fields(LinkReport)] * len(data["links"])
