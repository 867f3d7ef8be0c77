"""What a mailbox provider checks before it trusts a message: the sending domain in
Message-ID and List-Id, headers that say the mail is automatic, a feedback id, the bounce
address, a postal address, an unsubscribe that works, and a DKIM signature that verifies
(with dkimpy, against the public key through a stub DNS lookup: no network).

Each message is taken from an SMTP sink as the real path sent it: the issue's fast path
(bytes written to the connection), test copies, and the confirmation and welcome mails.
"""

import email
import email.policy
import re

import dkim
import pytest

from issues.delivery import send_next_batch, send_test
from subscribers import services
from subscribers.models import Subscriber
from subscribers.services.mail import (
    ALREADY_SUBSCRIBED,
    CONFIRM,
    WELCOME,
    send_subscriber_mail,
)
from tests.support.delivery import planned_dispatch
from tests.support.dkim import ed25519_key_file, rsa_key_file
from tests.support.factories import make_issue

ADDRESS = "The Weekly\n1 Example Street\n10115 Berlin, Germany"


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    path, public = rsa_key_file(tmp_path_factory.mktemp("dkim"))
    return path, f"v=DKIM1; k=rsa; p={public}".encode()


@pytest.fixture
def signing(settings, rsa_key):
    """DKIM for example.org, selector s2026; returns dkimpy's DNS lookup of its key."""
    path, record = rsa_key
    settings.DKIM_DOMAIN = "example.org"
    settings.DKIM_SELECTOR = "s2026"
    settings.DKIM_PRIVATE_KEY_FILE = str(path)
    records = {b"s2026._domainkey.example.org.": record}

    def dnsfunc(name, timeout=5):
        return records.get(name)

    return dnsfunc


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://news.example.net"  # another domain than the sender's
    settings.POSTAL_ADDRESS = ADDRESS


def issue_messages(smtp_sink, count=3):
    dispatch = planned_dispatch(count)
    assert send_next_batch(dispatch) == count
    assert len(smtp_sink.messages) == count
    return dispatch, smtp_sink.messages


def bodies(message):
    return [
        part.get_content().replace("\r\n", "\n")
        for part in message.walk()
        if not part.is_multipart()
    ]


def test_issue_headers_name_the_sending_domain_and_say_the_mail_is_automatic(
    db, smtp_sink, site, settings
):
    settings.BOUNCE_DOMAIN = "bounces.example.org"
    dispatch, received = issue_messages(smtp_sink)
    issue, newsletter = dispatch.issue, dispatch.issue.newsletter
    ledger = {row.subscriber.email: row for row in dispatch.deliveries.select_related("subscriber")}
    for each in received:
        message = each.message
        assert message["From"] == "The Weekly <weekly@example.org>"
        assert re.fullmatch(r"<\d+\.[\w-]+@example\.org>", message["Message-ID"])
        assert f"<{ledger[each.rcpt_tos[0]].message_id}>" == message["Message-ID"]
        assert message["List-Id"] == '"The Weekly" <weekly.example.org>'
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
        assert message["Feedback-ID"] == f"{issue.pk}:{newsletter.slug}:superfast:example.org"
        assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", message["Date"])
        assert each.mail_from == "weekly@bounces.example.org"  # the Return-Path
        # No mailto: nothing here reads mail sent to the unsubscribe address.
        assert re.fullmatch(r"<https://news\.example\.net/unsubscribe/[^>]+/>",
                            message["List-Unsubscribe"])  # fmt: skip
        text, html = bodies(message)
        assert ADDRESS in text
        assert "1 Example Street<br>10115 Berlin, Germany" in html


def test_the_bounce_address_is_the_senders_own_without_a_bounce_domain(db, smtp_sink, site):
    _, received = issue_messages(smtp_sink, 1)
    assert received[0].mail_from == "weekly@example.org"


def test_mailto_unsubscribe_is_advertised_only_with_an_inbound_route(db, smtp_sink, site, settings):
    settings.UNSUBSCRIBE_INBOUND = True
    settings.UNSUBSCRIBE_EMAIL = "leave@example.org"
    _, received = issue_messages(smtp_sink, 1)
    https, mailto = re.findall(r"<([^>]+)>", received[0].message["List-Unsubscribe"])
    assert https.startswith("https://news.example.net/unsubscribe/")
    assert mailto.startswith("mailto:leave@example.org?subject=unsubscribe%20")


def test_a_newsletters_own_postal_address_replaces_the_sites(db, smtp_sink, site):
    issue = make_issue(frozen=False)
    issue.newsletter.postal_address = "Weekly Ltd, PO Box 7, Leeds"
    issue.newsletter.save()
    send_test(issue, ["editor@example.org"])
    [proof] = smtp_sink.messages
    text, html = bodies(proof.message)
    assert "Weekly Ltd, PO Box 7, Leeds" in text and "Weekly Ltd, PO Box 7, Leeds" in html
    assert "Example Street" not in text


def test_every_issue_message_is_signed_for_its_own_body_and_verifies(db, smtp_sink, site, signing):
    _, received = issue_messages(smtp_sink)
    signatures = set()
    for each in received:
        assert dkim.verify(each.data, dnsfunc=signing), each.data[:600]
        header = each.message["DKIM-Signature"]
        assert "d=example.org" in header and "s=s2026" in header and "a=rsa-sha256" in header
        signatures.add(re.search(r"bh=([^;]+);", header).group(1))
        # A changed byte of a reader's own body (their links) fails the signature.
        tampered = each.data.replace(b"/unsubscribe/", b"/unsubscribe-x/", 1)
        assert not dkim.verify(tampered, dnsfunc=signing)
    assert len(signatures) == len(received)  # each reader's body has its own hash


def test_messages_built_by_djangos_mail_api_are_signed_too(db, site, signing, settings, tmp_path):
    """Backends other than SMTP (here the demo's mailbox of .eml files) get each message
    built by Django's mail API: signed as it is serialized, and from the sending domain."""
    settings.EMAIL_BACKEND = "superfast.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.BOUNCE_DOMAIN = "bounces.example.org"
    dispatch = planned_dispatch(2)
    assert send_next_batch(dispatch) == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    for path in files:
        data = path.read_bytes()
        assert dkim.verify(data, dnsfunc=signing)
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert message["From"] == "The Weekly <weekly@example.org>"
        assert message["Message-ID"].endswith("@example.org>")
        assert message["Date"].endswith("+0000")
        assert message["Feedback-ID"].endswith(":weekly:superfast:example.org")


def test_an_ed25519_key_adds_a_second_signature(db, smtp_sink, site, signing, settings, tmp_path):
    path, public = ed25519_key_file(tmp_path)
    settings.DKIM_ED25519_SELECTOR = "ed2026"
    settings.DKIM_ED25519_PRIVATE_KEY_FILE = str(path)
    _, [received] = issue_messages(smtp_sink, 1)
    fields = received.message.get_all("DKIM-Signature")
    assert ["a=rsa-sha256" in fields[0], "a=ed25519-sha256" in fields[1]] == [True, True]
    assert "s=ed2026" in fields[1]
    assert dkim.verify(received.data, dnsfunc=signing)  # the RSA one, as most receivers do
    record = f"v=DKIM1; k=ed25519; p={public}".encode()

    def both(name, timeout=5):
        return record if name == b"ed2026._domainkey.example.org." else signing(name)

    assert dkim.DKIM(received.data).verify(idx=1, dnsfunc=both)


def test_test_copies_are_signed_and_come_from_the_sending_domain(db, smtp_sink, site, signing):
    send_test(make_issue(frozen=False), ["editor@example.org"])
    [proof] = smtp_sink.messages
    assert dkim.verify(proof.data, dnsfunc=signing)
    assert proof.message["Message-ID"].endswith("@example.org>")
    assert proof.message["Date"].endswith("+0000")
    assert proof.message["Feedback-ID"].endswith(":weekly:superfast:example.org")


def test_confirmation_and_welcome_come_from_the_newsletter_signed_with_its_address(
    db, smtp_sink, site, signing, newsletter
):
    newsletter.from_name, newsletter.from_email = "Ada at The Weekly", "ada@example.org"
    newsletter.reply_to = "letters@example.org"
    newsletter.postal_address = "Weekly Ltd, PO Box 7, Leeds"
    newsletter.save()
    subscriber = services.subscribe("grace@example.com", [newsletter])
    assert send_subscriber_mail(CONFIRM, subscriber.pk, [newsletter.pk])
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.ACTIVE)
    assert send_subscriber_mail(WELCOME, subscriber.pk, [newsletter.pk])
    confirmation, welcome = smtp_sink.messages
    for each in (confirmation, welcome):
        message = each.message
        assert message["From"] == "Ada at The Weekly <ada@example.org>"
        assert message["Reply-To"] == "letters@example.org"
        assert message["Message-ID"].endswith("@example.org>")
        assert message["Date"].endswith("+0000")
        assert message["Auto-Submitted"] == "auto-generated"
        assert each.mail_from == "ada@example.org"
        assert dkim.verify(each.data, dnsfunc=signing)
        text, html = bodies(message)
        assert "Weekly Ltd, PO Box 7, Leeds" in text and "Weekly Ltd, PO Box 7, Leeds" in html
    assert "<mailto:" not in welcome.message["List-Unsubscribe"]


def test_already_subscribed_comes_from_the_newsletter_asked_for(
    db, smtp_sink, site, newsletter, settings
):
    settings.BOUNCE_DOMAIN = "bounces.example.org"
    newsletter.from_name, newsletter.from_email = "Ada at The Weekly", "ada@example.org"
    newsletter.save()
    subscriber = services.subscribe("grace@example.com", [newsletter])
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.ACTIVE)
    subscriber.subscriptions.update(status="active")
    services.subscribe("grace@example.com", [newsletter])  # again: the worker would send
    assert send_subscriber_mail(ALREADY_SUBSCRIBED, subscriber.pk, [newsletter.pk])
    [note] = smtp_sink.messages
    assert note.message["From"] == "Ada at The Weekly <ada@example.org>"
    assert note.mail_from == "ada@bounces.example.org"
    assert ADDRESS in bodies(note.message)[0]
