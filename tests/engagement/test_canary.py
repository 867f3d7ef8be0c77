"""The hidden canary: a client that fetched it was a machine for that moment only. Its
reader's clicks from ENGAGEMENT_BURST_SECONDS before it to as long after are the machine's;
a click of that reader's later on is a person's."""

import time

import pytest

from issues.models import Click, MachineReason
from issues.reports.engagement import issue_engagement
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, links_by_reader, send_in_process
from tests.support.factories import make_issue


class Clock:
    """The recorder's clock, moved by the test: no waiting for a window to pass."""

    def __init__(self):
        self.now = time.time()

    def time(self):
        return self.now

    def monotonic(self):
        return time.monotonic()


@pytest.fixture
def clock(monkeypatch, settings):
    settings.REDIS_URL = ""  # each click stored as it comes, as without a buffer
    settings.ENGAGEMENT_BURST_SECONDS = 30
    clock = Clock()
    monkeypatch.setattr("issues.engagement.recorder.time", clock)
    return clock


def test_a_canary_hit_makes_machine_only_the_clicks_of_its_own_burst(client, db, smtp_sink, clock):
    issue = make_issue(frozen=True)
    gateway_reader, person = make_subscribers(issue.newsletter, 2)
    send_in_process(issue)
    links = links_by_reader(smtp_sink)
    canary, *visible = links[gateway_reader.email]

    def click_at(offset, url):
        clock.now = start + offset
        assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code == 302

    start = time.time() + 600  # long after delivery: no delivery burst
    click_at(-0.5, visible[0])  # the gateway's burst: a link just before the canary,
    click_at(0.0, canary)  # the canary,
    for n in (1, 2, 3):
        click_at(n / 4, visible[n])  # and three links within a second of it
    click_at(120, visible[4])  # the reader, two minutes later
    for n in (0, 1):
        click_at(300 + n, links[person.email][1 + n])  # someone else: no canary

    machine = Click.objects.filter(is_machine=True)
    assert machine.count() == 5  # four visible links and the canary
    assert set(machine.values_list("machine_reason", flat=True)) == {MachineReason.CANARY}
    figures = issue_engagement(issue)
    assert (figures.human_clicks, figures.unique_clickers, figures.machine_clicks) == (3, 2, 5)
