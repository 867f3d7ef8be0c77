"""Send test: only for those who may send, only to staff (or allowed) addresses, limited per
person, sent by the worker. Each attack is made as a browser would post the form."""

import pytest

from issues.models import Issue
from tests.support.admin import staff
from tests.support.factories import make_issue
from tests.support.waiting import wait_until


@pytest.fixture
def issue(transactional_db):
    return make_issue(frozen=True)


def send_test_url(issue):
    return f"/admin/issues/issue/{issue.pk}/send-test/"


def outside_addresses(count):
    return " ".join(f"victim{n}@elsewhere.example" for n in range(count))


def received_by(sink):
    return sorted(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def test_staff_with_only_view_permission_and_editors_without_send_get_403(
    client, issue, start_worker, smtp_sink
):
    start_worker()
    viewer = staff("viewer", "view_issue")
    editor = staff("editor", "view_issue", "change_issue")
    for user in (viewer, editor):
        client.force_login(user)
        assert client.get(send_test_url(issue)).status_code == 403
        posted = client.post(send_test_url(issue), {"addresses": user.email})
        assert posted.status_code == 403
        change_page = client.get(f"/admin/issues/issue/{issue.pk}/change/").text
        assert send_test_url(issue) not in change_page
    # A publisher's test after them is the only mail the worker sends.
    publisher = staff("publisher", "view_issue", "change_issue", "send_issue")
    client.force_login(publisher)
    assert client.post(send_test_url(issue), {"addresses": publisher.email}).status_code == 302
    wait_until(lambda: smtp_sink.messages, timeout=30, what="the publisher's test")
    assert received_by(smtp_sink) == [publisher.email]


def test_twenty_outside_addresses_are_refused_and_nobody_is_mailed(
    client, issue, start_worker, smtp_sink, settings
):
    settings.SEND_TEST_ALLOWED_ADDRESSES = ["proofs@partner.example", "@newsroom.example"]
    start_worker()
    publisher = staff("publisher", "view_issue", "change_issue", "send_issue")
    colleague = staff("colleague", email="colleague@another.example")
    client.force_login(publisher)

    refused = client.post(send_test_url(issue), {"addresses": outside_addresses(20)})
    assert refused.status_code == 400
    assert "not allowed: victim0@elsewhere.example" in refused.text
    mixed = f"{publisher.email} victim0@elsewhere.example"
    assert client.post(send_test_url(issue), {"addresses": mixed}).status_code == 400

    allowed = f"{colleague.email} proofs@partner.example desk@newsroom.example"
    assert client.post(send_test_url(issue), {"addresses": allowed}).status_code == 302
    wait_until(lambda: len(smtp_sink.messages) >= 3, timeout=30, what="the allowed tests")
    assert received_by(smtp_sink) == sorted(allowed.split())


def test_test_sends_over_the_hourly_limit_are_refused_with_429(
    client, issue, start_worker, smtp_sink, settings
):
    settings.SEND_TEST_LIMIT_PER_USER_PER_HOUR = 3
    start_worker()
    publisher = staff("publisher", "view_issue", "change_issue", "send_issue")
    other = staff("other", "view_issue", "change_issue", "send_issue")
    client.force_login(publisher)
    for _ in range(3):
        assert client.post(send_test_url(issue), {"addresses": publisher.email}).status_code == 302
    for _ in range(5):
        over = client.post(send_test_url(issue), {"addresses": publisher.email})
        assert over.status_code == 429 and "limited to 3 messages an hour" in over.text
    client.force_login(other)  # the limit is per person
    assert client.post(send_test_url(issue), {"addresses": other.email}).status_code == 302
    wait_until(lambda: len(smtp_sink.messages) >= 4, timeout=30, what="four tests")
    assert received_by(smtp_sink) == sorted([publisher.email] * 3 + [other.email])


def test_send_test_mails_the_real_email_marked_test_through_the_worker(
    client, issue, start_worker, smtp_sink
):
    from tests.support.composing import add_block

    add_block(issue, "markdown", {"body": "Hello readers 👋"})
    start_worker()
    publisher = staff("publisher", "view_issue", "change_issue", "send_issue")
    second = staff("second", email="second@newsroom.example")
    client.force_login(publisher)
    assert client.get(send_test_url(issue)).status_code == 200
    addresses = f"{publisher.email}, {second.email}\n{second.email}"
    response = client.post(send_test_url(issue), {"addresses": addresses}, follow=True)
    assert f"Test queued for {publisher.email}, {second.email} (2 messages)" in response.text
    wait_until(lambda: len(smtp_sink.messages) >= 2, timeout=30, what="two tests")
    assert received_by(smtp_sink) == sorted([publisher.email, second.email])
    message = smtp_sink.messages[0].message
    assert message["Subject"] == f"[TEST] {issue.subject or issue.title}"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Hello readers 👋" in html and "Hello readers 👋" in text
    assert "%%" not in html and "%%" not in text
    # An editor clicking the test's links unsubscribes nobody.
    assert "#example-unsubscribe-link" in text and "/unsubscribe/" not in text
    assert "#example-unsubscribe-link" in message["List-Unsubscribe"]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT and issue.published_at is None
    assert not issue.deliveries.exists()


def test_send_test_refuses_bad_addresses(client, issue):
    publisher = staff("publisher", "view_issue", "change_issue", "send_issue")
    client.force_login(publisher)
    response = client.post(send_test_url(issue), {"addresses": f"{publisher.email} nope"})
    assert "Not an email address: nope" in response.text
