"""Paste a link into an empty link-list row in the real editor: the row shows the link at
once, and a real worker fetches the page (served on loopback, allowed by
FETCH_ALLOW_LOOPBACK) so its title and note fill in, marked when an earlier issue of the
newsletter already sent it; a link pasted onto the stream starts a new link list."""

import pytest
from playwright.sync_api import expect

from issues.delivery.snapshot import freeze_snapshot
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True)]


def paste(page, selector, text):
    """Put ``text`` on the clipboard and paste it with the keyboard, as an editor does."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    if selector:
        page.focus(selector)
    page.keyboard.press("Control+V")


def test_pasting_a_link_into_an_empty_row_fills_title_and_note_from_the_page(
    live_server, page, start_worker, pages, django_user_model, artifacts_dir
):
    start_worker(env={"FETCH_ALLOW_LOOPBACK": "1"})
    newsletter = make_newsletter()
    earlier = make_issue(newsletter, "Forty-one", days_ago=7, number=41)
    add_block(earlier, "link_list", {"items": f"Tables | {pages.url}/article | sent before"})
    freeze_snapshot(earlier)  # its link table, as sending wrote it
    draft = make_issue(newsletter, "This week", number=42)
    add_block(draft, "link_list", {"items": "Typed by hand | https://example.org/mine | mine"})
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/{draft.pk}/change/")

    field = "blocks-0-link_list__items"
    paste(page, f'[name="{field}-1-title"]', f"{pages.url}/plain")
    assert page.input_value(f'[name="{field}-1-url"]') == f"{pages.url}/plain"  # at once
    assert page.input_value(f'[name="{field}-1-title"]') == ""
    expect(page.locator(f'[name="{field}-1-title"]')).to_have_value(
        "Only a title & nothing else", timeout=20_000
    )
    assert page.input_value(f'[name="{field}-1-note"]') == "The meta description."

    page.click("#blocks-0 .sf-item-add")
    paste(page, f'[name="{field}-2-url"]', f"{pages.url}/article")
    page.wait_for_selector(
        f'#blocks-0 .sf-item:has([name="{field}-2-url"]) [data-state="sent"]', timeout=20_000
    )
    assert page.input_value(f'[name="{field}-2-title"]') == "Small models learn to read tables"
    status = page.locator(f'#blocks-0 .sf-item:has([name="{field}-2-url"]) .sf-link-status')
    assert status.inner_text() == "Sent in #41"
    # The row typed by hand is left as it was.
    assert page.input_value(f'[name="{field}-0-title"]') == "Typed by hand"

    page.locator(".sf-stream .inline-heading").click()  # nothing editable has the focus
    paste(page, None, f"{pages.url}/abs/2401.00001")
    new_list = "blocks-1-link_list__items"
    expect(page.locator(f'[name="{new_list}-0-url"]')).to_have_value(f"{pages.url}/abs/2401.00001")
    expect(page.locator(f'[name="{new_list}-0-title"]')).to_have_value(
        "Attention Is Still All You Need (og)", timeout=20_000
    )
    page.screenshot(path=artifacts_dir / "paste-link.png", full_page=True)

    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    first, pasted = draft.blocks.order_by("position")
    assert [item["title"] for item in first.data["items"]] == [
        "Typed by hand",
        "Only a title & nothing else",
        "Small models learn to read tables",
    ]
    assert pasted.kind == "link_list" and pasted.data["items"][0]["title"] == (
        "Attention Is Still All You Need (og)"
    )
    assert pages.paths().count("/plain") == 1
