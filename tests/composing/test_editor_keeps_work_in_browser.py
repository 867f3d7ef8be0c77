"""Issue 20, "Never lose work", in a real browser: a new issue autosaved with its images, its
order and its removals; the discard buttons; preview controls that are not the issue; the
Preview page's frames at full height; the keyboard; inputs wide enough to read."""

import re

import pytest
from playwright.sync_api import expect

from issues.compose import revisions
from issues.models import Autosave, Issue
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block, image_bytes
from tests.support.factories import make_issue, make_newsletter
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

WAIT_MS = 15_000
SAVED = re.compile(r"^Saved \d+ s ago$")


def new_page(browser):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.leave_prompts = []  # the "leave this page?" prompts the page asked

    def answer(dialog):
        page.leave_prompts.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    return page


def new_issue_draft_reads(predicate):
    """The editor's draft of a new issue, once it satisfies ``predicate(data)``."""
    return wait_until(
        lambda: (
            (draft := Autosave.objects.filter(issue=None).first())
            and predicate(draft.data)
            and draft
        ),
        timeout=WAIT_MS / 1000,
        what="the autosave to follow the form",
    )


def focused(page) -> str:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return (el.closest('.sf-block') ? '#' + el.closest('.sf-block').id + ' ' : '')"
        " + el.tagName.toLowerCase() + '.' + Array.from(el.classList).join('.'); }"
    )


def test_a_new_issue_comes_back_whole_after_a_reload_and_can_be_discarded(
    live_server, browser, django_user_model, artifacts_dir, tmp_path
):
    make_editor(django_user_model)
    newsletter = make_newsletter()
    picture = tmp_path / "harbour.png"
    picture.write_bytes(image_bytes((900, 500), colour="#226688"))
    add_url = f"{live_server.url}/admin/issues/issue/add/"
    page = new_page(browser)
    log_into_admin(page, live_server.url)
    page.goto(add_url)
    page.fill("#id_title", "Built before the first save")
    page.click("button.sf-add-markdown")
    page.fill('[name="blocks-0-markdown__body"]', "The first paragraph.")
    page.click("button.sf-add-image")
    page.set_input_files('[name="blocks-1-image__image"]', picture)
    page.fill('[name="blocks-1-image__alt"]', "The harbour at dawn")
    page.click("button.sf-add-markdown")
    page.fill('[name="blocks-2-markdown__body"]', "The second paragraph, moved to the top.")
    page.click("button.sf-add-divider")

    # Moves and removals by keyboard alone: each is autosaved, focus stays, each is announced.
    page.focus("#blocks-2 .sf-move-up")
    page.keyboard.press("Enter")
    assert focused(page) == "#blocks-2 button.sf-move.sf-move-up"
    page.keyboard.press("Enter")
    assert focused(page) == "#blocks-2 button.sf-move.sf-move-up"
    expect(page.locator(".sf-stream-announce")).to_have_text(re.compile(r"position 1 of 4"))
    page.focus("#blocks-3 .sf-remove")
    page.keyboard.press("Enter")
    assert focused(page) not in ("body.", "")
    assert focused(page).startswith("#blocks-1 ")  # the block above the one removed
    expect(page.locator(".sf-stream-announce")).to_contain_text("Removed")
    draft = new_issue_draft_reads(
        lambda data: (
            "blocks-3-kind" not in data
            and data.get("blocks-2-position") == ["1"]
            and data.get("blocks-1-image__image-kept")
        )
    )
    assert (draft.newsletter, draft.user.username) == (newsletter, "editor")

    page.reload()  # asks first: the page has unsaved edits
    assert page.leave_prompts == ["beforeunload"]
    offer = page.locator(".sf-new-draft-notice")
    expect(offer).to_contain_text("You have an unsaved new issue")
    expect(page.locator("#id_title")).to_have_value("")
    offer.get_by_role("link", name="restore").click()
    expect(page.locator("#id_title")).to_have_value("Built before the first save")
    order = page.locator(".sf-stream .sf-block textarea, .sf-stream .sf-block .current-image img")
    expect(order).to_have_count(3)
    assert [
        row.evaluate("e => e.tagName === 'IMG' ? 'image' : e.value") for row in order.all()
    ] == ["The second paragraph, moved to the top.", "The first paragraph.", "image"]
    expect(page.locator(".errornote, .errorlist")).to_have_count(0)
    expect(page.locator(".sf-warnings")).to_have_count(0)
    kept = page.locator(".sf-stream .current-image img")
    expect(kept).to_be_visible()
    assert kept.evaluate("img => img.naturalWidth") == 900
    page.screenshot(path=artifacts_dir / "new-issue-restored.png", full_page=True)

    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    issue = Issue.objects.get(title="Built before the first save")
    assert [b.kind for b in issue.blocks.order_by("position")] == ["markdown", "markdown", "image"]
    assert issue.blocks.get(kind="image").data["image"]["width"] == 900
    assert not Autosave.objects.filter(issue=None).exists()  # saved: no longer an unsaved one

    # Another new issue, thrown away with the keyboard.
    page.goto(add_url)
    expect(page.locator(".sf-new-draft-notice")).to_have_count(0)
    page.fill("#id_title", "A false start")
    page.keyboard.press("Tab")  # leaving the field saves at once
    new_issue_draft_reads(lambda data: data["title"] == ["A false start"])
    page.goto(add_url)
    discard = page.locator(".sf-new-draft-notice").get_by_role("button", name="discard")
    discard.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .info")
    expect(page.locator(".sf-new-draft-notice")).to_have_count(0)
    assert not Autosave.objects.filter(issue=None).exists()
    page.context.close()


def test_storing_a_chosen_image_moves_nothing_under_the_pointer(
    live_server, browser, django_user_model, tmp_path
):
    """An image chosen in a block is stored while the editor goes on. Its thumbnail used to
    appear only with the server's answer, pushing what follows it down under the pointer: a
    press on "+ Text" released after the answer landed elsewhere, and no block came (the
    reload test above failed so under load). The thumbnail's room is taken as the file is
    chosen, on a line of its own, so the answer moves nothing."""
    make_editor(django_user_model)
    make_newsletter()
    picture = tmp_path / "harbour.png"
    picture.write_bytes(image_bytes((900, 500), colour="#226688"))
    page = new_page(browser)
    held = []  # the image store's requests, let through when the test says
    page.route("**/issue/autosave/image/", lambda route: held.append(route))
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/add/")
    page.click("button.sf-add-image")
    page.set_input_files('[name="blocks-0-image__image"]', picture)
    expect(page.locator(".sf-autosave-status")).to_have_text("Storing the image…")
    expect(page.locator("#blocks-0 .current-image")).to_have_text("harbour.png")
    wait_until(lambda: page.evaluate("true") and held, timeout=WAIT_MS / 1000, what="the upload")

    add = page.locator("button.sf-add-markdown")
    add.scroll_into_view_if_needed()
    pressed = add.bounding_box()
    page.mouse.move(pressed["x"] + pressed["width"] / 2, pressed["y"] + pressed["height"] / 2)
    page.mouse.down()
    held[0].continue_()  # stored while the button is held down
    thumbnail = page.locator("#blocks-0 .current-image img")
    expect(thumbnail).to_have_attribute("src", re.compile(r"^/media/images/"))
    wait_until(
        lambda: thumbnail.evaluate("img => img.complete && img.naturalWidth") == 900,
        timeout=WAIT_MS / 1000,
        what="the stored image to show",
    )
    assert add.bounding_box() == pressed
    page.mouse.up()
    expect(page.locator('[name="blocks-1-markdown__body"]')).to_be_focused()
    page.context.close()


def test_discard_buttons_preview_controls_and_wide_inputs_on_an_issue(
    live_server, browser, django_user_model, artifacts_dir
):
    editor = make_editor(django_user_model)
    issue = make_issue(make_newsletter(), "Harbour log")
    add_block(issue, "markdown", {"body": "Paragraph as saved."})
    add_block(
        issue,
        "link_list",
        data={
            "items": [
                {
                    "title": "Stanford CRFM: Putting models on a leash",
                    "url": "https://crfm.example/leash",
                    "note": "A long note one should be able to read whole",
                }
            ]
        },
    )
    add_block(
        issue,
        "image",
        data={
            "image": {"path": "images/none.png", "width": 10, "height": 10},
            "alt": "A harbour crane lifting a blue container",
            "caption": "",
            "credit": "",
            "link": "",
        },
    )
    add_block(issue, "heading", {"title": "Papers worth the weekend", "emoji": ""})
    page = new_page(browser)
    log_into_admin(page, live_server.url)
    change_url = f"{live_server.url}/admin/issues/issue/{issue.pk}/change/"
    page.goto(change_url)

    # Wide enough to read with the preview open at 1280 px.
    expect(page.locator(".sf-live")).to_be_visible()
    page.locator("#blocks-1").scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir / "editor-1280-with-preview.png")
    for name in (
        "blocks-1-link_list__items-0-title",
        "blocks-1-link_list__items-0-note",
        "blocks-2-image__alt",
        "blocks-3-heading__title",
    ):
        width = page.locator(f'[name="{name}"]').bounding_box()["width"]
        assert width >= 300, f"{name} is {width:.0f} px wide"

    # A typed word, kept as a draft; "discard them" with the mouse brings the saved text back.
    page.fill('[name="blocks-0-markdown__body"]', "Half a thought")
    page.keyboard.press("Tab")  # leaving the field saves at once
    expect(page.locator(".sf-autosave-status")).to_have_text(SAVED, timeout=WAIT_MS)
    page.reload()
    assert page.leave_prompts == ["beforeunload"]
    page.leave_prompts.clear()
    expect(page.locator(".sf-draft-notice")).to_contain_text("You have unsaved changes")
    page.get_by_role("button", name="discard them").click()
    page.wait_for_selector(".messagelist .info")
    expect(page.locator('[name="blocks-0-markdown__body"]')).to_have_value("Paragraph as saved.")
    assert not Autosave.objects.filter(issue=issue).exists()

    # A colleague saved meanwhile: "discard my changes and load version 2", by keyboard.
    revisions.save_draft(
        issue, editor, data={"title": ["My stale title"]}, based_on_version=issue.version
    )
    revisions.claim_version(issue, expected=issue.version)
    page.goto(change_url)
    load = page.get_by_role("button", name=re.compile(r"discard my changes and load version"))
    load.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .info")
    expect(page.locator("#id_title")).to_have_value("Harbour log")
    assert not Autosave.objects.filter(issue=issue).exists()

    # The preview's Dark box is not part of the issue, even on a sent issue.
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT)
    page.goto(change_url)
    page.check(".sf-live-dark")
    page.click(".sf-live-view[data-view='email-375']")
    page.click("#id_title")  # leaving the box: a field's focusout would save a draft
    page.click("h1")
    expect(page.locator(".sf-live-status")).to_have_text("Up to date.")
    expect(page.locator(".sf-autosave-status")).not_to_have_text("Unsaved changes…")
    page.goto(f"{live_server.url}/admin/")
    assert page.leave_prompts == []
    assert not Autosave.objects.filter(issue=issue).exists()
    page.context.close()


def test_the_preview_page_shows_each_email_at_its_full_height(
    live_server, page, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    issue = make_issue(make_newsletter(), "A long one")
    for n in range(1, 25):
        add_block(issue, "markdown", {"body": f"Paragraph {n}. " + "Words fill the line. " * 12})
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/preview/")
    for frame_id in ("preview-email-desktop", "preview-email-mobile", "preview-web"):
        content = page.frame_locator(f"#{frame_id}").locator("html")
        expect(content).to_contain_text("Paragraph 24.")
        frame = page.locator(f"#{frame_id}")

        def fits(frame=frame, content=content):
            inside = content.evaluate("e => e.scrollHeight")
            return inside > 1200 and frame.bounding_box()["height"] >= inside

        wait_until(fits, timeout=10, what=f"{frame_id} to show the whole email")
    page.screenshot(path=artifacts_dir / "preview-page-full-height.png")
