"""On a phone (375 px) the send confirmation, the delivery page and the delivery report
fit the screen: nothing scrolls sideways, a subject test's table included."""

from datetime import timedelta

from django.utils import timezone

from issues.delivery import plan_dispatch, run_sender
from issues.delivery.lifecycle import frozen_snapshot
from issues.delivery.snapshot import freeze_snapshot
from issues.delivery.subject_tests import create_test, decide_due_tests, validate_setup
from issues.models import Dispatch
from superfast.admin_pages import admin_url
from tests.support.admin import STAFF_PASSWORD, log_into_admin, staff
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue

PHONE = {"width": 375, "height": 740}
LONG_SUBJECT = "Five papers, one quiz and the week's longest subject line, the small-model week"


def test_the_sending_pages_fit_a_375_px_phone(browser, live_server, transactional_db, smtp_sink):
    issue = make_issue(title="A title long enough to wrap on a phone screen, as titles do")
    unsent = make_issue(issue.newsletter, "Not sent yet, with a long title that has to wrap too")
    make_subscribers(issue.newsletter, 12)
    freeze_snapshot(issue)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=frozen_snapshot(issue))
    setup = validate_setup(issue, [issue.subject, LONG_SUBJECT], 50, timedelta(hours=4), "clicks")
    create_test(dispatch, setup)
    plan_dispatch(dispatch)
    run_sender(dispatch.pk)
    decide_due_tests(now=timezone.now() + timedelta(hours=5))
    run_sender(dispatch.pk)
    staff("publisher", "view_issue", "change_issue", "send_issue")

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        log_into_admin(page, live_server.url, "publisher", STAFF_PASSWORD)
        widths = {}
        for name, url in [
            ("send confirmation", admin_url(unsent, "send")),
            ("delivery page", admin_url(issue, "delivery")),
            ("delivery report", admin_url(issue, "report")),
        ]:
            page.goto(live_server.url + url)
            widths[name] = page.evaluate("document.documentElement.scrollWidth")
        assert all(width <= PHONE["width"] for width in widths.values()), widths
    finally:
        context.close()
