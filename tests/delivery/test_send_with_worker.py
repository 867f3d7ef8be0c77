"""A real worker sends a real issue through a real SMTP server, once per subscriber."""

import itertools
import re
from collections import Counter

from django.core import signing

from issues import delivery
from issues.models import Delivery
from subscribers import tokens
from tests.support.delivery import make_subscribers, wait_for_dispatch
from tests.support.factories import make_issue


def recipients_of(sink):
    return Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def test_every_confirmed_subscriber_gets_exactly_one_message_with_their_own_links(
    start_worker, smtp_sink
):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 2000)
    make_subscribers(issue.newsletter, 5, prefix="unconfirmed", status="pending")
    make_subscribers(issue.newsletter, 5, prefix="bounced", status="bounced")
    make_subscribers(issue.newsletter, 5, prefix="left", subscription="unsubscribed")
    start_worker()

    dispatch = delivery.start_dispatch(issue)
    assert delivery.start_dispatch(issue) == dispatch  # a second click is the same dispatch
    wait_for_dispatch(dispatch)

    received = recipients_of(smtp_sink)
    assert set(received) == {reader.email for reader in readers}
    assert set(received.values()) == {1}
    sent = Delivery.objects.filter(issue=issue, status=Delivery.Status.SENT).count()
    assert sent == len(smtp_sink.messages) == 2000
    issue.refresh_from_db()
    assert issue.status == "sent"

    by_email = {reader.email: reader for reader in readers}
    message_ids = set()
    for received_message in smtp_sink.messages[::97]:
        message = received_message.message
        reader = by_email[received_message.rcpt_tos[0]]
        assert message["To"] == reader.email
        own_link = re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
        token = re.search(r"/unsubscribe/([^/]+)/$", own_link).group(1)
        assert signing.loads(token, salt=tokens.UNSUBSCRIBE_SALT) == [
            reader.pk,
            issue.newsletter_id,
            f"issue:{issue.pk}",  # unsubscribes through it are this issue's
        ]
        assert "<mailto:" not in message["List-Unsubscribe"]  # no inbound route configured
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "weekly." in message["List-Id"]
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.get_payload()
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert own_link in text.get_content() and own_link in html.get_content()
        preferences = re.search(r'href="([^"]+/preferences/([^/"]+)/)"', html.get_content())
        assert signing.loads(preferences.group(2), salt=tokens.PREFERENCES_SALT) == reader.pk
        assert "café and naïve" in html.get_content()
        assert issue.get_absolute_url() in html.get_content()  # view in browser
        message_ids.add(message["Message-ID"])
        ledger = Delivery.objects.get(issue=issue, subscriber=reader)
        assert f"<{ledger.message_id}>" == message["Message-ID"]  # webhooks find the row
    assert len(message_ids) == len(smtp_sink.messages[::97])

    # Sending the issue again plans nobody twice: nobody gets a second copy.
    again = delivery.start_dispatch(issue)
    wait_for_dispatch(again)
    assert again.planned_count == 0
    assert len(smtp_sink.messages) == 2000


def test_451_is_retried_until_delivered_and_550_fails_with_its_reason(start_worker, smtp_sink):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 120)
    greylisted = {reader.email for reader in readers[:10]}
    rejected = {reader.email for reader in readers[10:15]}
    refusals = Counter()

    def greylist(address):
        refusals[address] += 1
        if refusals[address] <= 2:
            return "451 4.7.1 Greylisted, try again later"
        return None

    for address in greylisted:
        smtp_sink.replies[address] = greylist
    for address in rejected:
        smtp_sink.replies[address] = "550 5.1.1 No such mailbox here"
    start_worker()

    dispatch = wait_for_dispatch(delivery.start_dispatch(issue))

    received = recipients_of(smtp_sink)
    assert set(received) == {reader.email for reader in readers} - rejected
    assert set(received.values()) == {1}
    rows = {d.subscriber.email: d for d in dispatch.deliveries.select_related("subscriber")}
    for address in greylisted:
        assert rows[address].status == "sent"
        assert rows[address].attempts == 3
    for address in rejected:
        assert rows[address].status == "failed"
        assert "550" in rows[address].last_error and "No such mailbox" in rows[address].last_error
    others = [r for a, r in rows.items() if a not in greylisted | rejected]
    assert {r.status for r in others} == {"sent"}
    assert {r.attempts for r in itertools.islice(others, 50)} == {1}


def test_send_issue_wait_prints_progress_until_done(start_worker, smtp_sink, capsys):
    from django.core.management import call_command

    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 30)
    start_worker()
    call_command("send_issue", f"{issue.newsletter.slug}/{issue.slug}", wait=True)
    out = capsys.readouterr().out
    assert "30 recipient(s) to plan" in out
    assert out.strip().splitlines()[-1] == "Done: 30 sent, 0 failed, 0 pending of 30"
    assert len(smtp_sink.messages) == 30
