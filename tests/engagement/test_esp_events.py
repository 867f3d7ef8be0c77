"""ESP webhooks (Postmark's documented payloads) reach the delivery and the engagement
figures: delivered, bounced and complained once each; opens and clicks merged with ours,
never counted twice, however often the ESP retries."""

import json

from django.core import mail
from django.core.management import call_command

from issues.models import Open
from issues.reports.engagement import issue_engagement
from tests.support.webhooks import LINK, post, postmark, sent_issue


def test_without_our_tracking_the_esp_s_events_are_counted_once_each(client, esp):
    issue, (first, second, third) = sent_issue(track_clicks=False)
    assert "/c/" not in mail.outbox[0].alternatives[0][0]  # links left as written
    for payload in [
        postmark("Delivery", first),
        postmark("Delivery", first, DeliveredAt="2026-11-30T10:00:00Z"),
        postmark("Delivery", second),
        postmark("Bounce", third),
        postmark("SpamComplaint", second),
        postmark("Open", first),
        postmark("Open", first),  # the same webhook, retried
        postmark("Open", second, ReceivedAt="2026-11-30T11:00:00Z"),
        postmark("Click", first, OriginalLink=LINK),
        postmark("Click", first, OriginalLink=LINK),  # retried
        postmark("Click", second, OriginalLink=LINK, ReceivedAt="2026-11-30T12:00:00Z"),
    ]:
        post(client, payload)

    figures = issue_engagement(issue)
    assert (figures.sent, figures.delivered, figures.bounced, figures.complained) == (3, 2, 1, 1)
    assert (figures.opens_estimated, figures.unique_openers_estimated) == (2, 2)
    assert (figures.human_clicks, figures.unique_clickers, figures.machine_clicks) == (2, 2, 0)
    assert [(f.url, f.clicks, f.unique) for f in figures.links[:1]] == [(LINK, 2, 2)]
    first.refresh_from_db()
    assert first.esp_event == "delivered"  # an open does not hide that it was delivered


def test_with_our_own_tracking_on_the_esp_s_opens_and_clicks_are_not_counted_again(client, esp):
    issue, (first, _, _) = sent_issue(track_clicks=True, track_opens=True)
    post(client, postmark("Open", first))
    post(client, postmark("Click", first, OriginalLink=LINK))
    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.opens_estimated) == (0, 0)
    assert not Open.objects.exists()


def test_esp_clicks_are_judged_by_our_machine_rules_or_counted_apart_without_an_agent(
    client, esp, admin_client, capsys
):
    issue, (first, second, third) = sent_issue(track_clicks=False)
    scanner = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
    for payload in [
        postmark("Click", first, OriginalLink=LINK),  # a browser's agent: a person
        postmark("Click", second, OriginalLink=LINK, UserAgent=scanner),  # a gateway
        postmark("Click", third, OriginalLink=LINK, UserAgent=""),  # nothing to judge by
    ]:
        post(client, payload)

    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.unique_clickers, figures.machine_clicks) == (1, 1, 1)
    assert figures.esp_reported_clicks == 1
    assert [(f.clicks, f.unique, f.machine_clicks) for f in figures.links[:1]] == [(1, 1, 1)]
    page = admin_client.get(f"/admin/issues/issue/{issue.pk}/engagement/").content.decode()
    assert 'id="figure-esp-clicks">1' in page
    call_command("issue_report", str(issue.pk), "--json")
    assert json.loads(capsys.readouterr().out)["esp_reported_clicks"] == 1
