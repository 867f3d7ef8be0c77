"""A newsletter's dashboard: its audience week by week, from what people really did.

People join (double opt-in through the public form and the link mailed to them, or an
import), leave (one-click unsubscribe) and bounce (the ESP's webhook) over several weeks
of the test's clock; the dashboard counts each in its week.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from issues.reports.dashboard import subscriber_growth
from subscribers import tokens
from subscribers.models import Subscriber
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.factories import make_newsletter
from tests.support.subscribers import join_directly, post_one_click_unsubscribe
from tests.support.webhooks import WEBHOOK_SECRET, basic_auth, postmark_bounce, sending_through

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # weeks of 5, 12, 19 and 26 October


def week(n, days=1):
    return MONDAY + timedelta(weeks=n, days=days)


@pytest.fixture
def newsletter(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    return make_newsletter()


def living_through_four_weeks(newsletter, tmp_path, client, clock):
    other = make_newsletter(slug="other", name="Another Letter")
    clock.move_to(week(0))
    people = [join_directly(f"early{n}@example.net", [newsletter]) for n in range(5)]
    join_directly("elsewhere@example.net", [other])  # another newsletter's reader
    clock.move_to(week(1, days=3))
    csv = tmp_path / "people.csv"
    csv.write_text("email,name\n" + "".join(f"imp{n}@example.net,I {n}\n" for n in range(7)))
    call_command("import_subscribers", str(csv), newsletter=newsletter.slug, stdout=None)
    clock.move_to(week(2, days=4))
    for person in people[:2]:
        assert post_one_click_unsubscribe(tokens.unsubscribe_url(person.pk, newsletter.pk))
    with sending_through("postmark"):
        for n, email in enumerate(["imp0@example.net", "imp1@example.net"]):
            answer = client.post(
                "/anymail/postmark/tracking/",
                postmark_bounce(email, event_id=91000 + n),
                content_type="application/json",
                **basic_auth(),
            )
            assert answer.status_code == 200
    clock.move_to(week(3, days=0))
    join_directly("late@example.net", [newsletter])
    assert Subscriber.objects.filter(status="bounced").count() == 2


def dashboard_as_each_user(newsletter, client):
    """The dashboard as the viewer sees it, after an anonymous visit and a composer's."""
    url = f"/admin/issues/newsletter/{newsletter.pk}/dashboard/"
    staff("viewer", "view_newsletter")
    staff("composer", "view_issue", "change_issue")  # may compose, not see newsletters
    assert client.get(url).status_code == 302  # to the login page
    client.login(username="composer", password=STAFF_PASSWORD)
    assert client.get(url).status_code == 403
    client.login(username="viewer", password=STAFF_PASSWORD)
    missing = client.get(f"/admin/issues/newsletter/{newsletter.pk + 99}/dashboard/")
    return client.get(url), missing


def test_growth_counts_each_join_leave_and_bounce_in_its_week_on_the_dashboard(
    newsletter, tmp_path, client
):
    with freeze_time(week(0), tick=True) as clock:
        living_through_four_weeks(newsletter, tmp_path, client, clock)
        clock.move_to(week(3, days=2))
        weeks = subscriber_growth(newsletter, weeks=6)
        page, missing = dashboard_as_each_user(newsletter, client)
    assert [w.week.isoformat() for w in weeks] == [
        "2026-09-21",
        "2026-09-28",
        "2026-10-05",
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
    ]
    assert [(w.confirmed, w.unsubscribed, w.bounced) for w in weeks] == [
        (0, 0, 0),
        (0, 0, 0),
        (5, 0, 0),
        (7, 0, 0),
        (0, 2, 2),
        (1, 0, 0),
    ]

    # The page: to staff who may view newsletters, no one else.
    assert missing.status_code == 404
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart"') == 2  # growth, wide and narrow: no issue sent yet
    table = html.split('id="growth-table"')[1].split("</table>")[0]
    assert "<td>19 Oct 2026</td><td>0</td><td>2</td><td>2</td>" in table
    assert "<td>12 Oct 2026</td><td>7</td><td>0</td><td>0</td>" in table
    assert "No issue of The Weekly has been sent yet." in html
