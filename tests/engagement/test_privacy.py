"""Per-subscriber history only where a newsletter opts in, and then visible to the reader:
on the preferences page, in the data download, detached from them by erasure or a
no-tracking request (the counts stay)."""

import json
import re

import pytest

from issues.engagement import recorder
from issues.models import Click
from issues.reports.engagement import issue_engagement
from subscribers.models import Subscriber
from tests.support.delivery import make_subscribers
from tests.support.engagement import issue_linking_to, links_by_reader, request, send_in_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def preferences_link(sink, email):
    message = next(m.message for m in sink.messages if m.rcpt_tos == [email])
    html = message.get_payload()[1].get_content()
    return re.search(r'href="([^"]+/preferences/[^"]+)"', html).group(1)


def test_history_is_shown_exported_and_forgotten_on_request_and_on_erasure(
    site, page, smtp_sink, targets, artifacts_dir
):
    issue = issue_linking_to(targets.url, sections=3, subscriber_history=True)
    keeper, leaver, eraser = make_subscribers(issue.newsletter, 3)
    send_in_process(issue)
    links = links_by_reader(smtp_sink)
    for reader, position in [(keeper, 1), (leaver, 1), (leaver, 2), (eraser, 3)]:
        assert request(links[reader.email][position])[0] == 200
    recorder.flush()
    assert issue_engagement(issue).human_clicks == 4
    assert Click.objects.filter(subscriber=leaver).count() == 2  # history, as opted in

    # The reader sees that history is kept, and finds it in their data.
    page.goto(preferences_link(smtp_sink, leaver.email))
    page.wait_for_selector("text=Signals Weekly keeps which links you click")
    page.screenshot(path=artifacts_dir / "engagement-preferences-history.png", full_page=True)
    download = page.request.get(page.url + "?download=json")
    clicks = json.loads(download.text())["emails"]["clicks"]
    assert [c["link"] for c in clicks] == [
        f"{targets.url}/paper/{n}?from=mail&kind=pdf" for n in (0, 1)
    ]

    # They ask for no tracking: what was kept is detached, what they click now leaves no trace.
    page.check("input[name=no_tracking]")
    page.click("text=Save preferences")
    page.wait_for_selector("text=You asked for no tracking")
    page.screenshot(path=artifacts_dir / "engagement-preferences-no-tracking.png", full_page=True)
    assert Subscriber.objects.get(pk=leaver.pk).no_tracking
    assert request(links[leaver.email][3])[0] == 200  # the link still works
    recorder.flush()
    assert not Click.objects.filter(subscriber=leaver).exists()
    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.unique_clickers) == (4, 3)  # as they were

    # Erasure detaches the eraser's history: the counts stay, the link to them goes.
    page.goto(preferences_link(smtp_sink, eraser.email))
    page.check("input[name=confirm_erase]")
    page.click("text=Delete my data")
    page.wait_for_selector("text=deleted")
    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.unique_clickers) == (4, 3)
    assert sorted(Click.objects.values_list("subscriber", flat=True), key=str) == sorted(
        [keeper.pk, None, None, None], key=str
    )


def test_without_history_clicks_name_no_one_and_the_page_says_so(site, client, smtp_sink, targets):
    issue = issue_linking_to(targets.url, sections=2)
    (reader,) = make_subscribers(issue.newsletter, 1)
    send_in_process(issue)
    assert request(links_by_reader(smtp_sink)[reader.email][1])[0] == 200
    recorder.flush()
    assert list(Click.objects.values_list("subscriber", flat=True)) == [None]
    page = preferences_link(smtp_sink, reader.email).removeprefix(site.url)
    assert "under a code that differs in every issue" in client.get(page).content.decode()
    # The click names no one, but while the issue's salt lasts it is theirs: it is listed.
    download = json.loads(client.get(page + "?download=json").content)["emails"]
    assert [click["link"] for click in download["clicks"]] == [
        f"{targets.url}/paper/0?from=mail&kind=pdf"
    ]
