"""The whole path of a newsletter, across every app, with a real worker and SMTP server.

A visitor subscribes over HTTP and confirms from the mailed link; a publisher sends an
issue from the admin's Send-now page; the worker delivers it; the reader leaves with one
RFC 8058 POST from the header, exactly as Gmail sends it; the next issue skips them; the
first one is on the public archive.
"""

import re

import pytest
from django.test import Client

from issues.models import Dispatch
from subscribers import tokens
from subscribers.models import Subscriber
from tests.support.delivery import wait_for_dispatch
from tests.support.factories import make_issue
from tests.support.processes import mailing_worker
from tests.support.subscribers import (
    join_directly,
    links_in,
    mails_to,
    owners_of_links,
    path_of,
    post_one_click_unsubscribe,
    token_in,
    wait_for_mails,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SITE = "https://news.example.org"


@pytest.fixture
def mail(transactional_db, tmp_path, smtp_sink, settings):
    """The sink the worker delivers to; links in mail point at ``SITE`` on both sides."""
    settings.SITE_URL = SITE
    with mailing_worker(tmp_path, smtp_sink, SITE_URL=SITE):
        yield smtp_sink


def send_from_the_admin(publisher, issue, expected_count):
    """What a publisher does: open Send now, read the count, press the button."""
    url = f"/admin/issues/issue/{issue.pk}/send/"
    page = publisher.get(url)
    assert page.status_code == 200
    assert f'id="recipient-count">{expected_count}<' in page.text
    response = publisher.post(url)
    assert response.status_code == 302
    return wait_for_dispatch(Dispatch.objects.get(issue=issue), timeout=60)


def issue_mails(sink, issue):
    return [m for m in sink.messages if m.message["Subject"] == issue.snapshot.subject]


def test_subscribe_confirm_send_unsubscribe_in_one_click_and_archive(mail, django_user_model):
    first = make_issue(title="Queues that remember", frozen=True)
    newsletter = first.newsletter
    grace = join_directly("grace@example.org", [newsletter], name="Grace")

    visitor = Client()
    answer = visitor.post(
        "/subscribe/", {"email": "ada@example.org", "name": "Ada", "newsletter": newsletter.slug}
    )
    assert answer.status_code == 200
    [confirmation] = wait_for_mails(mail, "ada@example.org")
    [confirm_url] = links_in(confirmation, "/subscribe/confirm/")
    assert visitor.post(path_of(confirm_url)).status_code == 200
    ada = Subscriber.objects.get(email="ada@example.org")
    assert ada.status == Subscriber.Status.ACTIVE

    publisher = Client()
    publisher.force_login(django_user_model.objects.create_superuser("pub", "pub@example.org"))
    send_from_the_admin(publisher, first, expected_count=2)
    wait_until(lambda: len(issue_mails(mail, first)) == 2, 30, "both readers got the issue")

    [received] = [m for m in issue_mails(mail, first) if m.rcpt_tos == ["ada@example.org"]]
    message = received.message
    header = message["List-Unsubscribe"]
    [https_url] = re.findall(r"<([^>]+)>", header)  # mailto only with an inbound route
    assert https_url.startswith(f"{SITE}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert newsletter.slug in message["List-Id"]
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"])
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts[0] == "text/plain" and "text/html" in parts
    # The links are Ada's own, never Grace's.
    assert tokens.read_unsubscribe_link(token_in(https_url))[:2] == (ada.pk, newsletter.pk)
    assert owners_of_links(received) == {
        ("unsubscribe", (ada.pk, newsletter.pk)),
        ("preferences", ada.pk),
    }
    grace_copy = next(m for m in issue_mails(mail, first) if m.rcpt_tos == ["grace@example.org"])
    assert grace_copy.message["Message-ID"] != message["Message-ID"]
    assert owners_of_links(grace_copy) == {
        ("unsubscribe", (grace.pk, newsletter.pk)),
        ("preferences", grace.pk),
    }

    left = post_one_click_unsubscribe(https_url)
    assert left.status_code == 200
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED

    second = make_issue(title="The second week", frozen=True)
    assert second.newsletter == newsletter
    send_from_the_admin(publisher, second, expected_count=1)
    wait_until(lambda: issue_mails(mail, second), 30, "the second issue arrived")
    assert [m.rcpt_tos for m in issue_mails(mail, second)] == [["grace@example.org"]]
    assert len(mails_to(mail, "ada@example.org")) == 3  # confirmation, welcome, first issue

    archive = Client().get("/archive/")
    assert archive.status_code == 200
    assert first.title in archive.text
    assert Client().get(first.get_absolute_url()).status_code == 200
