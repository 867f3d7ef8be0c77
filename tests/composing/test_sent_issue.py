"""A sent issue looks sent in the admin, its email stays frozen, and only its web page can be
corrected afterwards (and says so)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from issues import delivery
from issues.delivery.lifecycle import frozen_snapshot
from issues.models import Issue, Snapshot
from tests.support.archive import fresh_archive_pages
from tests.support.composing import add_block, change_form_data
from tests.support.delivery import make_subscribers


@pytest.fixture(autouse=True)
def fresh_pages(settings):
    """The public page is asked again on every request, so a correction shows at once."""
    with fresh_archive_pages(settings):
        yield


@pytest.fixture
def sent_issue(issue, settings):
    """The issue, sent to five readers by the delivery code the worker runs."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    add_block(issue, "heading", {"title": "News"})
    add_block(issue, "markdown", {"body": "The harbour opens on Mondya."})
    make_subscribers(issue.newsletter, 5)
    dispatch = delivery.start_dispatch(issue)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and len(mail.outbox) == 5
    return issue


def change_url(issue):
    return reverse("admin:issues_issue_change", args=[issue.pk])


def test_a_sent_issue_shows_when_to_how_many_and_where_and_no_send_buttons(
    admin_client, sent_issue
):
    page = admin_client.get(change_url(sent_issue)).content.decode()
    banner = re.search(r'<div class="sf-sent-banner".*?</div>', page, re.S).group(0)
    assert "Sent on" in banner and "to 5 subscribers" in banner
    assert f'href="{sent_issue.get_absolute_url()}"' in banner
    assert f'href="{reverse("admin:issues_issue_report", args=[sent_issue.pk])}"' in banner
    assert "Send now" not in page and "Schedule for" not in page
    assert "Correct the web version" in page


def test_a_draft_still_offers_send_and_schedule(admin_client, issue):
    page = admin_client.get(change_url(issue)).content.decode()
    assert "Send now" in page and "Schedule for" in page
    assert "sf-sent-banner" not in page and "Correct the web version" not in page


def test_editing_a_sent_issue_changes_neither_its_email_nor_its_web_page(admin_client, sent_issue):
    before = sent_issue.snapshot
    blocks = list(sent_issue.blocks.order_by("position"))
    data = change_form_data(sent_issue, blocks)
    data["blocks-1-markdown__body"] = "The harbour opens on Monday."
    response = admin_client.post(change_url(sent_issue), data)
    assert response.status_code == 302
    after = Issue.objects.get(pk=sent_issue.pk).snapshot
    assert (after.email_html, after.text, after.web_html) == (
        before.email_html,
        before.text,
        before.web_html,
    )


def test_correcting_the_web_version_changes_the_archive_page_only(admin_client, client, sent_issue):
    before = sent_issue.snapshot
    blocks = list(sent_issue.blocks.order_by("position"))
    data = change_form_data(sent_issue, blocks)
    data["blocks-1-markdown__body"] = "The harbour opens on Monday."
    admin_client.post(change_url(sent_issue), data)
    assert "Mondya" in client.get(sent_issue.get_absolute_url()).content.decode()

    correct = reverse("admin:issues_issue_correct_web", args=[sent_issue.pk])
    assert admin_client.get(correct).status_code in (302, 405)  # only a POST corrects
    response = admin_client.post(correct, follow=True)
    assert "The web version now shows the issue as it stands" in response.content.decode()

    after = Issue.objects.get(pk=sent_issue.pk).snapshot
    assert "on Monday" in after.web_html and "on Monday" in after.search_text
    assert (after.email_html, after.text, after.subject) == (
        before.email_html,
        before.text,
        before.subject,
    )
    assert after.web_updated_at is not None
    page = client.get(sent_issue.get_absolute_url()).content.decode()
    assert "on Monday" in page and "Mondya" not in page
    assert re.search(r"Updated on <time datetime=\"[^\"]+\">\d+ \w+ \d{4}</time>", page)
    # A send that is resumed or retried later still gets the email that went out first.
    assert frozen_snapshot(sent_issue).email_html == before.email_html


def test_only_a_sent_issue_can_be_corrected(admin_client, issue):
    add_block(issue, "markdown", {"body": "Draft"})
    correct = reverse("admin:issues_issue_correct_web", args=[issue.pk])
    response = admin_client.post(correct, follow=True)
    assert "Only a sent issue has a web version to correct" in response.content.decode()
    assert not Snapshot.objects.filter(issue=issue).exists()
