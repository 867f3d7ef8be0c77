"""An editor builds an issue in a real browser, reorders it, and previews the email."""

import pytest

from issues.models import Block, Issue
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import make_issue, make_library_block, make_newsletter, place

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def log_in(page, live_server, django_user_model):
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)


def test_editor_builds_reorders_and_previews_an_issue(
    live_server, page, artifacts_dir, django_user_model, settings
):
    settings.SITE_URL = live_server.url
    newsletter = make_newsletter()
    make_library_block(body="Thanks for reading. — The library sign-off")
    log_in(page, live_server, django_user_model)

    page.goto(f"{live_server.url}/admin/issues/issue/add/")
    page.select_option("#id_newsletter", str(newsletter.pk))
    page.fill("#id_title", "Built in the browser")

    page.click("button.sf-add-heading")
    page.fill('[name="blocks-0-heading__title"]', "Top stories")
    page.click("button.sf-add-markdown")
    page.fill('[name="blocks-1-markdown__body"]', "An intro paragraph that should come first.")
    page.click("button.sf-add-link_list")
    page.fill(
        '[name="blocks-2-link_list__items"]',
        "A good read | https://example.org/read | worth your time",
    )
    page.click("button.sf-add-library")
    page.select_option('[name="blocks-3-library_block"]', label="Sign-off")
    # Only the chosen kind's fields show.
    assert page.is_visible('[name="blocks-1-markdown__body"]')
    assert not page.is_visible('[name="blocks-1-heading__title"]')

    page.click("#blocks-1 .sf-move-up")  # the intro moves above the heading
    page.screenshot(path=artifacts_dir / "compose-issue-form.png", full_page=True)
    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")

    issue = Issue.objects.get(title="Built in the browser")
    kinds = list(issue.blocks.order_by("position").values_list("kind", flat=True))
    assert kinds == ["markdown", "heading", "link_list", Block.LIBRARY]
    page.screenshot(path=artifacts_dir / "compose-issue-saved.png", full_page=True)

    page.click("text=Preview")
    page.wait_for_url(f"**/admin/issues/issue/{issue.pk}/preview/")
    desktop = page.frame_locator("#preview-email-desktop")
    desktop.locator("text=The library sign-off").wait_for()
    page.screenshot(path=artifacts_dir / "compose-preview.png", full_page=True)

    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/preview/email/")
    body = page.text_content("body")
    order = [
        body.index("An intro paragraph"),
        body.index("Top stories"),
        body.index("A good read"),
        body.index("The library sign-off"),
    ]
    assert order == sorted(order)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=artifacts_dir / "compose-email-mobile.png", full_page=True)


def test_library_block_form_shows_only_its_kinds_fields_and_where_it_is_used(
    live_server, page, artifacts_dir, django_user_model
):

    sign_off = make_library_block()
    place(make_issue(make_newsletter(), "Uses the sign-off"), sign_off)
    log_in(page, live_server, django_user_model)
    page.goto(f"{live_server.url}/admin/issues/libraryblock/{sign_off.pk}/change/")
    assert "Placed in #1 Uses the sign-off" in page.text_content("#content")
    assert page.is_visible('[name="markdown__body"]')
    assert not page.is_visible('[name="button__url"]')
    page.select_option('[name="kind"]', "button")
    assert page.is_visible('[name="button__url"]')
    assert not page.is_visible('[name="markdown__body"]')
    page.select_option('[name="kind"]', "markdown")
    page.fill('[name="markdown__body"]', "A fresher sign-off.")
    page.screenshot(path=artifacts_dir / "compose-library-block.png", full_page=True)
    page.click('input[name="_save"]')
    page.wait_for_selector(".messagelist .success")
    sign_off.refresh_from_db()
    assert sign_off.data == {"body": "A fresher sign-off."}
    page.screenshot(path=artifacts_dir / "compose-library-list.png", full_page=True)
