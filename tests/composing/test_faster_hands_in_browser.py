"""Faster hands in the real issue form: images dropped onto the stream, the "/" kind menu,
keyboard shortcuts and their "?" list, the Markdown toolbar and a URL pasted over text."""

import base64
import re

import pytest
from playwright.sync_api import expect

from issues.models import Autosave
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block, image_bytes
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SAVED = re.compile(r"^Saved \d+ s ago$")
IMAGE_BLOCKS = ".sf-block:has(.sf-kind-fields[data-kind=image])"

# Files dropped the way a browser drops them from the desktop: a DataTransfer of Files.
DROP = """(target, files) => {
  const transfer = new DataTransfer();
  for (const [name, type, encoded] of files) {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    target.dispatchEvent(new DragEvent(kind, init));
  }
}"""


def drop_files(target, *files):
    target.evaluate(
        DROP, [[name, kind, base64.b64encode(data).decode()] for name, kind, data in files]
    )


def open_issue(page, live_server, issue):
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    page.wait_for_selector("#sf-editing")


def test_dropped_images_become_image_blocks_and_a_hostile_file_adds_nothing(
    live_server, page, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    issue = make_issue(make_newsletter(), "Harbour log")
    add_block(issue, "markdown", {"body": "Opening words."})
    open_issue(page, live_server, issue)
    expect(page.locator(".sf-drop-choose")).to_be_visible()

    dawn = image_bytes((800, 400), colour="#226688")
    dusk = image_bytes((600, 300), colour="#884422")
    drop_files(
        page.locator("#blocks-0"), ("dawn.png", "image/png", dawn), ("dusk.png", "image/png", dusk)
    )
    images = page.locator(IMAGE_BLOCKS)
    expect(images).to_have_count(2)
    expect(images.locator(".current-image img")).to_have_count(2)
    # In the order dropped, right after the block they were dropped on; the first awaits its alt.
    pictures = images.locator(".current-image img")
    # Each picture is decoded in its own time: read the sizes once both have loaded.
    page.wait_for_function(
        "all => all.length === 2 && all.every(img => img.complete && img.naturalWidth > 0)",
        arg=pictures.element_handles(),
    )
    widths = pictures.evaluate_all("all => all.map(img => img.naturalWidth)")
    assert widths == [800, 600]
    expect(images.nth(0).locator('input[name$="-image__alt"]')).to_be_focused()
    expect(page.locator(".sf-drop-status")).to_contain_text("2 images added")
    expect(page.locator(".sf-autosave-status")).to_have_text(SAVED, timeout=15_000)
    draft = Autosave.objects.get(issue=issue).data
    assert sorted(draft[key][0] for key in draft if key.endswith("-kind")) == [
        "image",
        "image",
        "markdown",
    ]
    assert len([key for key in draft if key.endswith("-image__image-kept")]) == 2

    hostile = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
    drop_files(images.nth(1), ("harbour.png", "image/png", hostile))
    expect(page.locator(".sf-drop-refusals")).to_have_text(
        "harbour.png was not added: This file is not an image that can be read: "
        "upload JPEG, PNG, GIF or WebP."
    )
    expect(images).to_have_count(2)
    page.screenshot(path=artifacts_dir / "faster-hands-dropped-images.png", full_page=True)

    images.nth(0).locator('input[name$="-image__alt"]').fill("The harbour at dawn")
    images.nth(1).locator('input[name$="-image__alt"]').fill("The harbour at dusk")
    page.keyboard.press("Control+s")  # save and continue editing
    page.wait_for_selector(".messagelist .success")
    saved = [
        (b.kind, b.data.get("alt"), (b.data.get("image") or {}).get("width"))
        for b in issue.blocks.order_by("position")
    ]
    assert saved == [
        ("markdown", None, None),
        ("image", "The harbour at dawn", 800),
        ("image", "The harbour at dusk", 600),
    ]


def test_slash_menu_shortcuts_and_markdown_toolbar_from_the_keyboard(
    live_server, page, django_user_model, artifacts_dir
):
    make_editor(django_user_model)
    issue = make_issue(make_newsletter(), "Harbour log")
    add_block(issue, "markdown", {"body": "Ships came in at dawn."})
    open_issue(page, live_server, issue)
    body = page.locator('[name="blocks-0-markdown__body"]')

    # "?" lists the shortcuts in a dialog; Esc closes it and the focus comes back.
    page.locator("#id_title").focus()
    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for shortcut in ("Alt+Shift+N", "Alt+Shift+↑ / ↓", "Alt+Shift+C", "Ctrl/⌘+S", "Ctrl/⌘+B, I, K"):
        expect(dialog).to_contain_text(shortcut)
    page.screenshot(path=artifacts_dir / "faster-hands-shortcuts.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Ctrl+B wraps the selection; a URL pasted over selected words makes a link.
    body.focus()
    body.evaluate("box => box.setSelectionRange(0, 5)")  # "Ships"
    page.keyboard.press("Control+b")
    expect(body).to_have_value("**Ships** came in at dawn.")
    body.evaluate("box => box.setSelectionRange(box.value.length - 5, box.value.length - 1)")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("navigator.clipboard.writeText('https://harbour.example/dawn')")
    page.keyboard.press("Control+v")
    expect(body).to_have_value("**Ships** came in at [dawn](https://harbour.example/dawn).")
    toolbar = page.get_by_role("toolbar", name="Markdown formatting").first
    expect(toolbar.get_by_role("button")).to_have_count(5)

    # Alt+Shift+N adds a text block below; "/" in it opens the kinds, chosen by keyboard.
    page.keyboard.press("Alt+Shift+N")
    new_body = page.locator('[name="blocks-1-markdown__body"]')
    expect(new_body).to_be_focused()
    page.keyboard.type("/li")
    menu = page.get_by_role("listbox", name="Block kinds")
    expect(menu).to_be_visible()
    page.screenshot(path=artifacts_dir / "faster-hands-slash-menu.png")
    options = menu.get_by_role("option")
    expect(options.first).to_have_text("Link list")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(menu.get_by_role("option", name="Link list")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#blocks-1 .sf-row-kind")).to_have_text("Link list")
    expect(page.locator("#blocks-1 .sf-kind-fields input").first).to_be_focused()
    expect(menu).to_be_hidden()

    # Alt+Shift+↑ moves the current block; autosave keeps the stream as shown.
    page.keyboard.press("Alt+Shift+ArrowUp")
    expect(page.locator(".sf-block").first).to_have_id("blocks-1")
    expect(page.locator(".sf-autosave-status")).to_have_text(SAVED, timeout=15_000)
    draft = Autosave.objects.get(issue=issue).data
    assert draft["blocks-1-kind"] == ["link_list"] and draft["blocks-1-position"] == ["1"]
    assert draft["blocks-0-markdown__body"] == [
        "**Ships** came in at [dawn](https://harbour.example/dawn)."
    ]
    page.screenshot(path=artifacts_dir / "faster-hands-1280.png", full_page=True)
