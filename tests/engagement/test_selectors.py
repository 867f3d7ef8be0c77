"""The selectors other parts build on: A/B variants and the subscribers who clicked."""

import re

from issues.engagement import recorder
from issues.engagement.segments import subscribers_who_clicked
from issues.engagement.variants import variant_engagement
from issues.models import Delivery
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, issue_linking_to, send_in_process


def test_variant_figures_and_the_subscribers_who_clicked_in_the_last_issues(
    db, client, settings, smtp_sink, click_buffer
):
    settings.SITE_URL = "http://testserver"
    issue = issue_linking_to("http://127.0.0.1:9", sections=3, subscriber_history=True)
    readers = make_subscribers(issue.newsletter, 4)
    send_in_process(issue)
    # The A/B code of the sender writes each recipient's subject variant on the ledger.
    for n, reader in enumerate(readers):
        Delivery.objects.filter(issue=issue, subscriber=reader).update(variant=n % 2)
    links = {
        m.rcpt_tos[0]: re.findall(
            r'href="http://testserver(/c/[^"]+)"', m.message.get_payload()[1].get_content()
        )
        for m in smtp_sink.messages
    }
    for reader, position in [(readers[0], 1), (readers[0], 2), (readers[2], 1), (readers[1], 1)]:
        client.get(links[reader.email][position], HTTP_USER_AGENT=BROWSER)
    client.head(links[readers[3].email][1], HTTP_USER_AGENT=BROWSER)  # a machine: not counted
    recorder.flush()

    figures = variant_engagement(issue)
    assert {v: (f.sent, f.unique_clickers) for v, f in figures.items()} == {0: (2, 2), 1: (2, 1)}
    assert figures[0].unique_openers_estimated is None  # open tracking is off
    assert set(subscribers_who_clicked(issue.newsletter, last_issues=1)) == {
        readers[0].pk,
        readers[1].pk,
        readers[2].pk,
    }
    assert not subscribers_who_clicked(issue.newsletter, last_issues=0).exists()
