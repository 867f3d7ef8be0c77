"""Who may read reports, and what bad input to ``issue_report`` gets: attacks first."""

import pytest
from django.core.management import CommandError, call_command

from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db


def report_urls(issue):
    base = f"/admin/issues/issue/{issue.pk}/engagement/"
    return [base, base + "links.csv", base + "click-map/"]


def test_reports_need_the_permission_to_view_issues(client):
    issue = make_issue(frozen=True)
    staff("sender", "send_issue", "view_newsletter")  # may send, may not look at issues
    staff("reader", "view_issue")
    for url in report_urls(issue):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")
    client.login(username="sender", password=STAFF_PASSWORD)
    for url in report_urls(issue):
        assert client.get(url).status_code == 403, url
    client.login(username="reader", password=STAFF_PASSWORD)
    for url in report_urls(issue):
        assert client.get(url).status_code == 200, url
    for url in report_urls(issue):
        missing = url.replace(f"/{issue.pk}/", f"/{issue.pk + 1000}/")
        assert client.get(missing).status_code == 404
    # A viewer is not offered the delivery report, which needs the send permission.
    page = client.get(report_urls(issue)[0]).text
    assert f"/admin/issues/issue/{issue.pk}/report/" not in page
    assert "has not been sent yet" in page


def test_the_click_map_runs_nothing_and_frames_only_into_the_admin(admin_client):
    issue = make_issue(frozen=True)
    answer = admin_client.get(report_urls(issue)[2])
    assert answer["Content-Security-Policy"].split(";")[0] == "sandbox"
    assert answer["X-Frame-Options"] == "SAMEORIGIN"
    assert "<script" not in answer.text
    page = admin_client.get(report_urls(issue)[0]).text
    assert '<iframe class="click-map-frame" id="click-map"' in page and " sandbox " in page


@pytest.mark.parametrize(
    "reference, message",
    [
        ("999999", "No issue '999999'."),
        ("weekly/no-such-issue", "No issue 'weekly/no-such-issue'."),
        ("not an issue", "ISSUE must be an id or newsletter-slug/issue-slug"),
        ("a/b/c", "ISSUE must be an id or newsletter-slug/issue-slug"),
    ],
)
def test_issue_report_says_what_is_wrong_with_a_bad_reference(reference, message):
    make_issue(frozen=True)
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("issue_report", reference)
