"""One reader cannot decide the ranking: links are ranked, shared out and heated on the
click map by the readers who clicked them, with the clicks (repeats) shown beside; opens
are counted once per reader."""

import json

import pytest
from django.core.management import call_command

from issues.reports.engagement import issue_engagement
from issues.reports.tables import link_rows
from superfast.admin_pages import admin_url
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, links_by_reader, pixels_by_reader, send_in_process
from tests.support.factories import make_issue, make_newsletter


@pytest.fixture
def stored_at_once(settings):
    settings.REDIS_URL = ""  # each click stored as it comes, as without a buffer


def test_a_reader_clicking_one_link_many_times_does_not_top_the_ranking(
    client, admin_client, smtp_sink, stored_at_once, capsys
):
    issue = make_issue(make_newsletter(track_opens=True), frozen=True)
    keen, second, third = make_subscribers(issue.newsletter, 3)
    send_in_process(issue)
    links, pixels = links_by_reader(smtp_sink), pixels_by_reader(smtp_sink)

    def get(url, times=1):
        for _ in range(times):
            assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code in (200, 302)

    get(links[keen.email][3], times=12)  # one reader, one link, twelve times
    get(links[second.email][5])
    get(links[third.email][5])
    get(pixels[keen.email], times=30)  # one reader's mail client loading the image 30 times
    get(pixels[second.email])

    figures = issue_engagement(issue)
    top, runner_up = figures.links[:2]
    assert (top.position, top.unique, top.clicks) == (5, 2, 2)
    assert (runner_up.position, runner_up.unique, runner_up.clicks) == (3, 1, 12)
    assert figures.human_clicks == 14 and figures.unique_clickers == 3
    assert (figures.opens_estimated, figures.unique_openers_estimated) == (2, 2)

    rows = link_rows(figures)
    # Shares of the readers who clicked: two of three, one of three.
    assert [row.share_label for row in rows[:2]] == ["66.7%", "33.3%"]
    assert rows[0].bar == 100.0 and rows[1].bar == 50.0

    drawn = admin_client.get(admin_url(issue, "click_map")).content.decode()
    badges = [part.split("</span>")[0] for part in drawn.split('class="clickmap-badge">')[1:]]
    assert "66.7% · 2 readers · 2 clicks" in badges
    assert "33.3% · 1 reader · 12 clicks" in badges
    # The hottest link is the one two readers chose.
    assert drawn.count("clickmap-link clickmap-heat-4") == 1

    call_command("issue_report", str(issue.pk), "--json")
    report = json.loads(capsys.readouterr().out)
    assert [(link["position"], link["unique"], link["clicks"]) for link in report["links"][:2]] == [
        (5, 2, 2),
        (3, 1, 12),
    ]
