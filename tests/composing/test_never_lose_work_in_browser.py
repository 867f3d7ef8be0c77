"""No edit is lost in a real browser: a closed window, an invalid form, a colleague's save."""

import re

import pytest
from playwright.sync_api import expect

from issues.compose.rendering import render_issue
from issues.models import Issue, Revision
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block, as_readers_see, image_bytes
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

COLLEAGUE = ("bea", "bea@example.org", "another horse 43")
WAIT_MS = 15_000


def new_page(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


def open_issue(page, live_server, issue):
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    page.wait_for_selector("#sf-editing")


def seeded_issue(blocks=3):
    issue = make_issue(make_newsletter(), "Harbour log")
    for n in range(1, blocks + 1):
        add_block(issue, "markdown", {"body": f"Paragraph {n} as saved."})
    return issue


def test_typed_text_is_back_after_the_browser_closes_without_saving(
    live_server, browser, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    issue = seeded_issue()
    page = new_page(browser)
    log_into_admin(page, live_server.url)
    open_issue(page, live_server, issue)
    body = page.locator('[name="blocks-1-markdown__body"]')
    body.click()
    body.press("End")
    body.press_sequentially(" And a sentence typed but never saved.", delay=5)
    status = page.locator(".sf-autosave-status")
    expect(status).to_have_text(re.compile(r"^Saved \d+ s ago$"), timeout=WAIT_MS)
    page.screenshot(path=artifacts_dir / "autosave-typing.png")
    page.context.close()  # a crash: no save, no goodbye

    again = new_page(browser)
    log_into_admin(again, live_server.url)
    open_issue(again, live_server, issue)
    expect(again.locator('[name="blocks-1-markdown__body"]')).to_have_value(
        "Paragraph 2 as saved. And a sentence typed but never saved."
    )
    expect(again.locator(".sf-draft-notice")).to_contain_text("You have unsaved changes")
    expect(again.locator(".sf-autosave-status")).to_have_text(re.compile(r"^Saved \d+ s ago$"))
    again.screenshot(path=artifacts_dir / "autosave-restored.png", full_page=True)
    assert issue.blocks.get(position=2).data["body"] == "Paragraph 2 as saved."

    again.click('input[name="_continue"]')
    again.wait_for_selector(".messagelist .success")
    assert issue.blocks.get(position=2).data["body"].endswith("typed but never saved.")
    expect(again.locator(".sf-draft-notice")).to_have_count(0)
    again.context.close()


def test_an_uploaded_image_survives_an_invalid_link_elsewhere(
    live_server, browser, django_user_model, artifacts_dir, tmp_path
):
    make_editor(django_user_model)
    issue = seeded_issue(blocks=0)
    picture = tmp_path / "harbour.png"
    picture.write_bytes(image_bytes((900, 500), colour="#226688"))
    page = new_page(browser)
    log_into_admin(page, live_server.url)
    open_issue(page, live_server, issue)
    page.click("button.sf-add-image")
    page.set_input_files('[name="blocks-0-image__image"]', picture)
    page.fill('[name="blocks-0-image__alt"]', "The harbour at dawn")
    page.click("button.sf-add-button")
    page.fill('[name="blocks-1-button__label"]', "Read more")
    page.fill('[name="blocks-1-button__url"]', "not a web address")
    page.click('input[name="_continue"]')

    page.wait_for_selector(".errornote")
    assert not issue.blocks.exists()
    kept = page.locator("#blocks-0 .current-image img")
    expect(kept).to_be_visible()
    assert kept.evaluate("img => img.naturalWidth") == 900  # the stored image, served back
    page.screenshot(path=artifacts_dir / "upload-kept-after-error.png", full_page=True)

    page.fill('[name="blocks-1-button__url"]', "https://harbour.example/read")
    page.click('input[name="_continue"]')  # no file chosen a second time
    page.wait_for_selector(".messagelist .success")
    image = issue.blocks.get(kind="image").data
    assert image["alt"] == "The harbour at dawn" and image["image"]["width"] == 900
    page.context.close()


def test_the_later_of_two_saves_is_refused_and_nobodys_text_is_lost(
    live_server, browser, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    django_user_model.objects.create_superuser(*COLLEAGUE)
    issue = seeded_issue()
    mine, hers = new_page(browser), new_page(browser)
    log_into_admin(mine, live_server.url)
    log_into_admin(hers, live_server.url, COLLEAGUE[0], COLLEAGUE[2])
    open_issue(mine, live_server, issue)
    open_issue(hers, live_server, issue)
    mine.reload()  # the heartbeat of the page opened first now knows of the second
    expect(mine.locator(".sf-presence")).to_have_text("Also open by bea")
    expect(hers.locator(".sf-presence")).to_have_text("Also open by editor")

    hers.fill('[name="blocks-0-markdown__body"]', "Bea rewrote the first paragraph.")
    hers.click('input[name="_continue"]')
    hers.wait_for_selector(".messagelist .success")

    mine.fill('[name="blocks-2-markdown__body"]', "My rewrite of the third paragraph.")
    mine.evaluate("window.dispatchEvent(new Event('focus'))")  # back to this tab: a heartbeat
    expect(mine.locator(".sf-newer")).to_contain_text("bea saved version 2")
    mine.click('input[name="_continue"]')
    expect(mine.locator(".errorlist.nonfield")).to_contain_text("bea saved a newer version")
    expect(mine.locator(".sf-conflict")).to_contain_text("Compare both versions")
    expect(mine.locator(".sf-presence")).to_have_text("Also open by bea")
    expect(mine.locator('[name="blocks-2-markdown__body"]')).to_have_value(
        "My rewrite of the third paragraph."
    )
    mine.screenshot(path=artifacts_dir / "conflict-refused.png", full_page=True)
    stored = [b.data["body"] for b in issue.blocks.order_by("position")]
    assert stored[0] == "Bea rewrote the first paragraph."
    assert stored[2] == "Paragraph 3 as saved."

    # Both versions side by side, then a deliberate save over hers.
    with mine.context.expect_page() as compare_page:
        mine.click(".sf-conflict a", modifiers=["Control"])
    compare = compare_page.value
    compare.wait_for_load_state()
    text = compare.locator("table.sf-diff").inner_text().replace("\xa0", " ")
    assert (
        "Bea rewrote the first paragraph." in text and "My rewrite of the third paragraph." in text
    )
    compare.screenshot(path=artifacts_dir / "conflict-compare.png", full_page=True)
    compare.close()

    mine.fill('[name="blocks-0-markdown__body"]', "Bea rewrote the first paragraph.")
    mine.check('[name="replace_version"]')
    mine.click('input[name="_continue"]')
    mine.wait_for_selector(".messagelist .success")
    stored = [b.data["body"] for b in issue.blocks.order_by("position")]
    assert stored[0] == "Bea rewrote the first paragraph."
    assert stored[2] == "My rewrite of the third paragraph."
    summaries = list(
        Revision.objects.filter(issue=issue).values_list("author__username", flat=True)
    )
    assert summaries == ["editor", "bea"]  # both saves are kept, newest first
    mine.context.close()
    hers.context.close()


def test_restore_from_the_history_page_gives_the_earlier_rendering_back(
    live_server, browser, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    issue = seeded_issue()
    page = new_page(browser)
    log_into_admin(page, live_server.url)
    open_issue(page, live_server, issue)
    page.fill("#id_title", "Harbour log, first draft")
    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    earlier = render_issue(Issue.objects.get(pk=issue.pk))

    page.fill("#id_title", "Harbour log, rewritten")
    page.fill('[name="blocks-1-markdown__body"]', "A different second paragraph.")
    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")

    page.click("#sf-editing >> text=History")
    expect(page.locator(".sf-revision")).to_have_count(2)
    expect(page.locator("#revision-3")).to_contain_text("Edited 1 block, title changed")
    page.click("#revision-3 >> text=Compare with previous")
    expect(page.locator("table.sf-diff")).to_contain_text("A different second paragraph.")
    page.screenshot(path=artifacts_dir / "history-compare.png", full_page=True)
    page.go_back()
    page.screenshot(path=artifacts_dir / "history.png", full_page=True)
    page.click("#revision-2 >> text=Restore")
    page.wait_for_selector(".messagelist .success")
    restored = render_issue(Issue.objects.get(pk=issue.pk))
    assert as_readers_see(restored) == as_readers_see(earlier)
    expect(page.locator("#id_title")).to_have_value("Harbour log, first draft")
    page.context.close()
