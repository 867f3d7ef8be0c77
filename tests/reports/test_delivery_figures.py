"""The delivery report's figures belong to the issue whose messages they count, and "sent"
is the same number on the delivery report, the engagement report and the dashboard."""

import pytest
from django.core import mail
from django.urls import reverse

from issues.models import Delivery
from issues.reports.dashboard import issue_rates
from issues.reports.delivery import report
from issues.reports.engagement import issue_engagement
from tests.support.delivery import make_subscribers
from tests.support.engagement import send_in_process
from tests.support.factories import make_issue
from tests.support.webhooks import WEBHOOK_SECRET, post, postmark


@pytest.fixture
def through_an_esp(settings, db):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}, "WEBHOOK_SECRET": WEBHOOK_SECRET}


def test_bounces_and_complaints_count_only_on_the_issue_whose_message_caused_them(
    through_an_esp, newsletter, admin_client
):
    make_subscribers(newsletter, 6)
    third = make_issue(newsletter, "Third", frozen=True)
    fourth = make_issue(newsletter, "Fourth", frozen=True)
    send_in_process(third)
    send_in_process(fourth)
    assert len(mail.outbox) == 12
    rows = list(Delivery.objects.filter(issue=third).select_related("subscriber").order_by("pk"))
    for row in rows[:2]:
        post(admin_client, postmark("Bounce", row))
    post(admin_client, postmark("SpamComplaint", rows[2]))

    def after_delivery(issue):
        figures = report(issue)
        return figures["bounced_subscribers"], figures["complained_subscribers"]

    assert after_delivery(third) == (2, 1)  # a hand count of issue 3's rows
    assert after_delivery(fourth) == (0, 0)

    # The two bounced messages left: every page says 6 were sent.
    assert report(third)["counts"]["Sent"] == 6
    assert issue_engagement(third).sent == 6
    assert {rate.issue_id: rate.sent for rate in issue_rates(newsletter)}[third.pk] == 6

    page = admin_client.get(reverse("admin:issues_issue_report", args=[fourth.pk]))
    after = page.content.decode().split('id="report-after"')[1].split("</table>")[0]
    assert ">2<" not in after and ">1<" not in after, after
