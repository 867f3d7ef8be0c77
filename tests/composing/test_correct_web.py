""" "Correct the web version" publishes what the editor sees on the form, saved or not.

The button posts the whole issue form to ``…/correct-web/``: the form is saved as "Save"
would save it (validation, version check), then the web version is corrected from it. A
POST with only the CSRF token (a script) corrects from the saved blocks.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from issues.delivery.snapshot import freeze_snapshot
from issues.models import Issue, Snapshot
from tests.support.admin import log_into_admin, make_editor
from tests.support.archive import fresh_archive_pages
from tests.support.composing import add_block, change_form_data
from tests.support.factories import make_issue, make_newsletter

TYPO = "The harbour opens on Mondya."
FIXED = "The harbour opens on Monday."


def sent_issue_with_typo(newsletter=None):
    """An issue sent with a typo in its second block (frozen by the renderer a send runs)."""
    issue = make_issue(newsletter or make_newsletter(), "Harbour log")
    add_block(issue, "heading", {"title": "News"})
    add_block(issue, "markdown", {"body": TYPO})
    freeze_snapshot(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT, published_at=timezone.now())
    issue.refresh_from_db()
    return issue


def correct_url(issue):
    return reverse("admin:issues_issue_correct_web", args=[issue.pk])


def form_with_fix(issue):
    """The change form as the browser posts it, with the typo fixed but not saved."""
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data["based_on_version"] = issue.version
    data["blocks-1-markdown__body"] = FIXED
    return data


@pytest.fixture(autouse=True)
def fresh_pages(settings):
    with fresh_archive_pages(settings):
        yield


@pytest.mark.django_db
def test_correcting_with_the_form_saves_it_then_publishes_the_unsaved_word(admin_client, client):
    issue = sent_issue_with_typo()
    response = admin_client.post(correct_url(issue), form_with_fix(issue), follow=True)

    assert "The web version now shows the issue as it stands" in response.content.decode()
    assert issue.blocks.get(position=2).data["body"] == FIXED
    assert Issue.objects.get(pk=issue.pk).version == issue.version + 1
    page = client.get(issue.get_absolute_url()).content.decode()
    assert "on Monday" in page and "Mondya" not in page
    assert re.search(r"Updated on <time", page)


@pytest.mark.django_db
def test_an_invalid_form_comes_back_with_everything_typed_and_corrects_nothing(
    admin_client, client
):
    issue = sent_issue_with_typo()
    data = form_with_fix(issue)
    data["title"] = ""  # required
    response = admin_client.post(correct_url(issue), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required" in page and FIXED in page
    # The form posts back to the change page, where "Save" saves without correcting.
    assert f'action="{reverse("admin:issues_issue_change", args=[issue.pk])}"' in page
    assert issue.blocks.get(position=2).data["body"] == TYPO
    assert Snapshot.objects.get(issue=issue).web_updated_at is None
    assert "Mondya" in client.get(issue.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_form_opened_before_a_colleagues_save_neither_saves_nor_corrects(admin_client):
    issue = sent_issue_with_typo()
    stale = form_with_fix(issue)
    admin_client.post(reverse("admin:issues_issue_change", args=[issue.pk]), form_with_fix(issue))
    stale["blocks-1-markdown__body"] = "The harbour opens on Tuesday."
    response = admin_client.post(correct_url(issue), stale)

    assert response.status_code == 200
    assert "saved a newer version" in response.content.decode()
    assert issue.blocks.get(position=2).data["body"] == FIXED
    assert Snapshot.objects.get(issue=issue).web_updated_at is None


@pytest.mark.django_db
def test_a_post_with_only_the_csrf_token_corrects_from_the_saved_blocks(admin_client, client):
    issue = sent_issue_with_typo()
    admin_client.post(reverse("admin:issues_issue_change", args=[issue.pk]), form_with_fix(issue))
    assert "Mondya" in client.get(issue.get_absolute_url()).content.decode()

    response = admin_client.post(correct_url(issue), follow=True)
    assert "The web version now shows the issue as it stands" in response.content.decode()
    assert "on Monday" in client.get(issue.get_absolute_url()).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
def test_correct_the_web_version_publishes_a_word_changed_without_saving(
    live_server, page, django_user_model
):
    make_editor(django_user_model)
    issue = sent_issue_with_typo()
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:issues_issue_change', args=[issue.pk])}")
    body = page.locator('[name="blocks-1-markdown__body"]')
    body.fill(FIXED)
    page.get_by_role("button", name="Correct the web version").click()
    expect(page.locator(".messagelist .success").last).to_contain_text(
        "The web version now shows the issue as it stands"
    )

    page.goto(f"{live_server.url}{issue.get_absolute_url()}")
    expect(page.locator(".issue-body, article").first).to_contain_text("on Monday")
    expect(page.locator("body")).not_to_contain_text("Mondya")
    expect(page.locator(".issue-updated")).to_contain_text("Updated on")
