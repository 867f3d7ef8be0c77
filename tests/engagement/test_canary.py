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


def test_every_reader_whose_burst_covers_every_link_is_marked_with_their_own_window(
    db, smtp_sink, settings
):
    """Rule 4 for several readers at once, each judged from their own message's time: the
    clicks inside a reader's window are a machine's, a later one of theirs stays a person's,
    and a reader who clicked only some links is a person."""
    from datetime import timedelta

    from django.utils import timezone

    from issues.engagement.machines import mark_bursts
    from issues.models import Click, TrackedLink
    from tests.support.delivery import make_subscribers
    from tests.support.engagement import issue_linking_to, send_in_process

    settings.ENGAGEMENT_BURST_SECONDS = 10
    issue = issue_linking_to("http://127.0.0.1:9", sections=3)
    make_subscribers(issue.newsletter, 1)
    send_in_process(issue)
    links = list(TrackedLink.objects.filter(issue=issue, is_canary=False))
    start = timezone.now() - timedelta(hours=1)
    sent_at = {"a" * 32: start, "b" * 32: start + timedelta(minutes=5), "c" * 32: start}
    rows = [
        (reader, link, sent + timedelta(seconds=1))
        for reader, sent in sent_at.items()
        for link in (links if reader != "c" * 32 else links[:1])
    ]
    rows.append(("a" * 32, links[0], start + timedelta(minutes=30)))  # later: a person's
    Click.objects.bulk_create(
        Click(issue=issue, link=link, reader=reader, at=at, event_id=f"e{n}")
        for n, (reader, link, at) in enumerate(rows)
    )

    assert mark_bursts(issue.pk, sent_at) == 2 * len(links)
    machine = set(Click.objects.filter(is_machine=True).values_list("reader", "machine_reason"))
    assert machine == {("a" * 32, "burst"), ("b" * 32, "burst")}
    assert Click.objects.filter(is_machine=False).count() == 2  # c's one, a's later one
