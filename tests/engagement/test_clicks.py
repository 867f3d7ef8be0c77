"""A real send, real clicks through the live site, a real worker storing them: exact counts."""

from issues import delivery
from issues.engagement.pseudonyms import reader_hash
from issues.models import Click, IssueSalt, TrackedLink
from issues.reports.engagement import issue_engagement
from subscribers.models import Subscriber
from tests.support.delivery import make_subscribers, wait_for_dispatch
from tests.support.engagement import (
    SCANNER,
    flush_and_wait,
    issue_linking_to,
    request,
    tracked_links,
)


def mails_by_reader(smtp_sink):
    return {m.rcpt_tos[0]: m.message for m in smtp_sink.messages}


def test_readers_scanners_and_a_reader_without_tracking_are_counted_exactly(
    site, targets, engagement_worker, smtp_sink, click_buffer
):
    issue = issue_linking_to(targets.url)
    readers = make_subscribers(issue.newsletter, 6)
    Subscriber.objects.filter(pk=readers[5].pk).update(no_tracking=True)
    engagement_worker()
    wait_for_dispatch(delivery.start_dispatch(issue))

    mails = mails_by_reader(smtp_sink)
    links = {}
    for reader in readers:
        html_links, text_links = tracked_links(mails[reader.email])
        assert len(html_links) == 9  # the canary, then one per section
        assert text_links == html_links[1:]  # the text part has no canary, the same links
        links[reader.email] = html_links
    own = [links[r.email] for r in readers]
    assert len({tuple(x) for x in own}) == 6  # each reader's links are their own
    table = list(TrackedLink.objects.filter(issue=issue).order_by("position"))
    assert [t.is_canary for t in table] == [True] + [False] * 8

    a, b, c, d, _, quiet = own
    # Readers: GET, following the redirect to the exact URL the editor wrote.
    for url, paper in ((a[1], 0), (a[1], 0), (a[2], 1), (b[1], 0)):
        status, _, landed = request(url)
        assert (status, landed) == (200, f"{targets.url}/paper/{paper}?from=mail&kind=pdf")
    # Scanners: HEAD, a scanner's user agent, the hidden canary.
    assert request(c[1], method="HEAD", follow=False)[:2] == (302, table[1].url)
    assert request(c[3], agent=SCANNER, follow=False)[0] == 302
    assert request(c[0], follow=False)[:2] == (302, table[0].url)
    # A gateway posing as a browser, fetching every link the moment the mail arrives.
    for url in d[1:]:
        assert request(url, follow=False)[0] == 302
    # The reader who asked for no tracking: the link works, nothing is kept.
    status, _, landed = request(quiet[4])
    assert (status, landed) == (200, f"{targets.url}/paper/3?from=mail&kind=pdf")

    flush_and_wait(click_buffer, expected_rows=3 + 1 + 3 + 8)

    figures = issue_engagement(issue)
    assert (figures.sent, figures.human_clicks, figures.unique_clickers) == (6, 4, 2)
    assert figures.machine_clicks == 3 + 8
    assert figures.click_rate == 2 / 6
    top = figures.links[0]
    assert (top.position, top.url, top.clicks, top.unique, top.machine_clicks) == (
        1,
        f"{targets.url}/paper/0?from=mail&kind=pdf",
        3,
        2,
        2,  # c's HEAD and d's burst
    )
    assert [(f.position, f.clicks, f.unique) for f in figures.links[1:3]] == [(2, 1, 1), (3, 0, 0)]
    reasons = Click.objects.filter(is_machine=True).values_list("machine_reason", flat=True)
    assert sorted(reasons) == sorted(["head", "scanner", "canary"] + ["burst"] * 8)
    assert Click.objects.filter(is_machine=False, subscriber__isnull=False).count() == 0
    salt = IssueSalt.objects.get(issue=issue).reader_salt
    clickers = {reader_hash(salt, r.pk) for r in readers[:4]}
    assert set(Click.objects.values_list("reader", flat=True)) == clickers
    assert Click.objects.count() == 15  # nothing from the reader without tracking
    assert targets.paths.count("/paper/3?from=mail&kind=pdf") == 1
