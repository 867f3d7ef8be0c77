"""One definition of "sent" (``issues.reports.sent``): what left for the reader's server,
a later bounce included, an ESP's rejection or a refusal not. Every figure agrees with it,
however it is counted: from the plan less the rows not sent (the reports, the dashboard),
by status (the delivery report), or row by row (a subject test's variants)."""

from issues.delivery.esp_events import record_event
from issues.engagement.variants import sent_deliveries
from issues.models import Delivery
from issues.reports.dashboard import issue_rates
from issues.reports.delivery import report
from issues.reports.engagement import issue_engagement
from issues.reports.sent import not_sent, sent_per_issue, status_counts
from tests.support.delivery import make_subscribers
from tests.support.engagement import send_in_process
from tests.support.factories import make_issue


def test_every_figure_counts_as_sent_what_left_including_a_later_bounce(db, smtp_sink):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 10)
    for refused in readers[:2]:
        smtp_sink.replies[refused.email] = "550 5.1.1 No such user"
    dispatch = send_in_process(issue)
    left = dispatch.deliveries.filter(status=Delivery.Status.SENT).order_by("pk")
    record_event(left[0].message_id, "bounced", "mailbox gone")  # left, then bounced
    record_event(left[1].message_id, "rejected", "policy")  # the ESP never let it out
    rows = Delivery.objects.filter(issue=issue)

    assert sent_per_issue([issue.pk]) == {issue.pk: 7}  # 10 readers, 2 refused, 1 rejected
    assert sent_deliveries(issue).count() == 7  # the rows' side of the same definition
    assert not_sent(rows).count() == rows.count() - 7
    assert issue_engagement(issue).sent == 7
    assert [rate.sent for rate in issue_rates(issue.newsletter)] == [7]
    # By status too the bounced message was sent (it left); its bounce is shown beside.
    assert status_counts(rows, dispatch.planned_count) == {"sent": 7, "failed": 3}
    assert report(issue)["counts"]["Sent"] == 7
    assert report(issue)["bounced_subscribers"] == 1
