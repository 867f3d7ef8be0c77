"""Reports read right at a glance: what plain SMTP never reports is said so, the dashboard
leads with the audience, web-only links are marked, a send to the rest is called that, and
an issue sent to nobody is no 0% on a chart."""

import re

from django.core.management import call_command

from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Dispatch
from subscribers.models import ConsentEvent, Subscription, Tag
from subscribers.services import add_tag
from subscribers.services.consent import record
from superfast.admin_pages import admin_url
from tests.support.delivery import make_subscribers
from tests.support.engagement import send_in_process
from tests.support.factories import make_issue


def test_plain_smtp_shows_delivered_bounced_and_complained_as_not_reported(
    admin_client, smtp_sink, capsys
):
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 5)
    send_in_process(issue)
    page = admin_client.get(admin_url(issue, "engagement")).content.decode()
    assert re.search(r'id="figure-sent">5<', page)
    for figure in ("delivered", "bounced", "complained"):
        assert re.search(rf'id="figure-{figure}">not reported by SMTP<', page), figure
    call_command("issue_report", str(issue.pk))
    assert re.search(r"Delivered +not reported by SMTP\n", capsys.readouterr().out)


def test_a_send_to_the_rest_after_a_tag_is_labelled_as_the_rest(admin_client, smtp_sink):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 4)
    tagged = Tag.objects.create(name="early")
    add_tag(readers[0].__class__.objects.filter(pk=readers[0].pk), tagged)
    send_in_process_to = Dispatch.objects.create
    first = send_in_process_to(issue=issue, snapshot=issue.snapshot, tag=tagged)
    rest = send_in_process_to(issue=issue, snapshot=issue.snapshot)
    assert first.audience_label == "tag “early”"
    assert rest.audience_label == "the rest (everyone not sent this issue yet)"
    page = admin_client.get(admin_url(issue, "delivery")).content.decode()
    assert 'id="dispatch-audience">the rest (everyone not sent this issue yet)<' in page


def test_the_dashboard_leads_with_active_subscribers_and_leaves_an_issue_sent_to_nobody_unplotted(
    admin_client, newsletter, smtp_sink
):
    readers = make_subscribers(newsletter, 7)
    Subscription.objects.filter(subscriber=readers[6]).update(status="unsubscribed")
    for reader in readers[:3]:
        record(reader, ConsentEvent.Action.CONFIRM, "form", newsletter_id=newsletter.pk)
    record(readers[6], ConsentEvent.Action.UNSUBSCRIBE, "link", newsletter_id=newsletter.pk)
    sent = make_issue(newsletter, "Sent to six", frozen=True)
    send_in_process(sent)
    nobody = make_issue(newsletter, "Sent to nobody", days_ago=0)
    assert nobody.status == "sent"

    page = admin_client.get(admin_url(newsletter, "dashboard")).content.decode()
    lead = page.index('id="active-subscribers"')
    assert lead < page.index('id="growth-heading"')
    assert re.search(r'id="active-subscribers">6<', page)  # a hand count of the list
    assert re.search(r'id="active-change">\+2<', page)  # three joined, one left
    chart = page.split('id="click-rate-chart"')[1].split("</figure>")[0]
    assert chart.count("<circle") == 2  # one issue, drawn wide and narrow: not the empty one
    assert "Sent to nobody" in page and "not sent to anyone" in page


def test_links_only_on_the_web_page_are_marked_on_the_click_map(admin_client, smtp_sink):
    issue = make_issue(title="Quiz week")
    quiz = {
        "title": "3 headlines and a lie",
        "headlines": [
            {"title": "Real one", "url": "https://example.org/real-1"},
            {"title": "Real two", "url": "https://example.org/real-2"},
            {"title": "Real three", "url": "https://example.org/real-3"},
            {"title": "The lie", "url": "", "pick": True},
        ],
        "reveal": "The fourth one.",
    }
    Block.objects.create(issue=issue, position=1, kind="quiz", data=get_kind("quiz").validate(quiz))
    freeze_snapshot(issue)
    make_subscribers(issue.newsletter, 1)
    send_in_process(issue)
    drawn = admin_client.get(admin_url(issue, "click_map")).content.decode()
    badges = re.findall(r'class="clickmap-badge clickmap-web-only">([^<]*)<', drawn)
    seen = "On the web page only: not in the email (0 readers, 0 clicks from the plain-text"
    assert badges == [seen + " version)"] * 3


def test_the_dashboards_change_is_written_with_its_sign_and_thousands():
    from issues.reports.dashboard import Audience
    from superfast.estimates import RowCount

    assert Audience(RowCount(5), 1_000_000, 12).change_label == "+1,000,000"
    assert Audience(RowCount(5), -1234, 12).change_label == "-1,234"
    assert Audience(RowCount(5), 0, 12).change_label == "±0"
