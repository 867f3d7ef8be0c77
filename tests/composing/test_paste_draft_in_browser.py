"""Paste a draft in the real issue form: a Google Docs copy of the weekly digest, pasted
through a real clipboard event, becomes the stream's blocks with a summary and one-click
undo; autosave keeps them; saved, the issue is ready to send, in fewer than 15 clicks.

The clipboard event is dispatched with a DataTransfer holding text/html and text/plain, as
Chromium does for Ctrl+V (its async clipboard API would sanitize the HTML on the way in, so
the fixture would not reach the page as Docs wrote it). The picture is served on loopback
(FETCH_ALLOW_LOOPBACK), standing in for Google's image host."""

import re

import pytest
from playwright.sync_api import expect

from issues.compose.rendering import presend_warnings
from issues.models import Autosave, Issue
from tests.composing.test_paste_draft import KINDS, google_docs_html
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block
from tests.support.factories import make_issue, make_newsletter
from tests.support.subscribers import active_reader

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Chromium fires a paste at the focused field, else at the element the caret was put in (the
# stream's heading, clicked); ``at`` names that element.
PASTE = """([html, text, at]) => {
  const clipboard = new DataTransfer();
  if (html) clipboard.setData('text/html', html);
  clipboard.setData('text/plain', text);
  const init = { clipboardData: clipboard, bubbles: true, cancelable: true };
  const event = new ClipboardEvent('paste', init);
  (at ? document.querySelector(at) : document.activeElement).dispatchEvent(event);
  return event.defaultPrevented;
}"""
STREAM = ".sf-stream .inline-heading"
SUMMARY = "21 blocks: 8 headings, 3 link lists with 8 links, 1 image, 1 divider, 8 text blocks."
BLOCKS = ".sf-stream .sf-block"


class Hands:
    """The editor's hands: every click, choice and paste goes through here and is counted."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, selector):
        self.count += 1
        self.page.click(selector)

    def choose(self, selector, label):
        self.count += 1
        self.page.select_option(selector, label=label)

    def type(self, selector, text):
        self.count += 1  # the click into the field; typing is not a click
        self.page.fill(selector, text)

    def paste_on_stream(self, html, text):
        """Click the stream (nothing editable), then Ctrl+V."""
        self.click(STREAM)
        return self.paste(html, text)

    def paste(self, html, text):
        """Ctrl+V with the stream clicked."""
        self.count += 1
        return self.page.evaluate(PASTE, [html, text, STREAM])


def kinds_on(page):
    """The kinds of the stream's blocks, in the order on screen."""
    return page.locator(f"{BLOCKS} .sf-kind-fields").evaluate_all(
        "slots => slots.map(slot => slot.dataset.kind)"
    )


def plain_text(html):
    return re.sub(r"\s*\n\s*", "\n", re.sub(r"<[^>]+>", "\n", html)).strip()


def test_a_google_docs_draft_becomes_a_sendable_issue_in_fewer_than_15_clicks(
    live_server, page, pages, django_user_model, artifacts_dir
):
    newsletter = make_newsletter("weekly-gradient", "The Weekly Gradient")
    active_reader(newsletter)
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    html = google_docs_html(f"{pages.url}/picture")
    hands = Hands(page)

    hands.click("a[href='/admin/issues/issue/add/']")
    hands.choose("#id_newsletter", "The Weekly Gradient")
    hands.type("#id_title", "Small models, big week")
    hands.click(STREAM)
    expect(page.locator(".sf-live-status")).to_have_text("Up to date.")
    assert hands.paste(html, plain_text(html))
    # From the paste on, while it is turned into blocks and until the preview shows them, the
    # preview does not claim to be up to date.
    assert page.text_content(".sf-live-status") == "Updating…"
    note = page.locator(".sf-paste-note")
    expect(note.locator(".sf-paste-summary")).to_have_text("Pasted " + SUMMARY, timeout=15_000)
    expect(page.locator(BLOCKS)).to_have_count(len(KINDS))
    assert kinds_on(page) == KINDS
    assert page.input_value("[name=blocks-1-heading__title]") == "News"
    assert page.input_value("[name=blocks-2-link_list__items-2-url]") == (
        "https://example.com/news/chips"
    )
    # The live preview shows what was pasted, before anything is saved.
    expect(page.frame_locator(".sf-live-frame").locator("body")).to_contain_text(
        "the long paper everyone keeps quoting", timeout=15_000
    )
    expect(page.locator(".sf-live-status")).to_have_text("Up to date.")
    page.screenshot(path=artifacts_dir / "paste-draft.png")  # the note and the first blocks

    # One click undoes it all; the paste again.
    hands.click(".sf-paste-undo")
    expect(note.locator(".sf-paste-summary")).to_have_text("Paste undone: 21 blocks taken out.")
    expect(page.locator(BLOCKS)).to_have_count(0)
    assert hands.paste_on_stream(html, plain_text(html))
    expect(page.locator(".sf-paste-summary")).to_have_text("Pasted " + SUMMARY, timeout=15_000)

    # Autosave keeps the pasted blocks like typed ones.
    expect(page.locator(".sf-autosave-status")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    draft = Autosave.objects.get().data  # field name to its posted values
    assert ["https://example.org/papers/steps"] in draft.values()

    hands.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    issue = Issue.objects.get(title="Small models, big week")
    assert [block.kind for block in issue.blocks.order_by("position")] == KINDS
    assert presend_warnings(issue) == []
    image = issue.blocks.get(kind="image").data
    assert image["image"]["width"] == 800 and image["alt"].startswith("A gauge from calm")

    hands.click("a.sf-send")
    expect(page.locator("#send-form input[type=submit]")).to_have_value("Yes, send to 1 recipient")
    print(f"\nPASTE_TO_SENDABLE clicks={hands.count}")
    assert hands.count < 15


def test_a_paste_into_an_empty_text_block_replaces_it_and_what_is_not_a_draft_is_left_alone(
    live_server, page, django_user_model
):
    issue = make_issue(make_newsletter(), "Harbour log")
    add_block(issue, "markdown", {"body": "Opening words."})
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    page.wait_for_selector("#sf-editing")

    # Into a field with words in it: the browser's own paste.
    page.focus("[name=blocks-0-markdown__body]")
    assert not page.evaluate(PASTE, ["<h2>Not here</h2><p>words</p>", "Not here\nwords", None])
    # A lone link onto the stream is link_previews.js's: a new link list, no draft note.
    assert page.evaluate(PASTE, ["", "https://example.org/story", STREAM])
    expect(page.locator("[name=blocks-1-link_list__items-0-url]")).to_have_value(
        "https://example.org/story"
    )
    assert page.locator(".sf-paste-note").count() == 0

    # Markdown text into a new, empty text block: the blocks take its place; undo brings it back.
    page.click(".sf-toolbar .sf-add-markdown")
    markdown = "## 🧰 Tools\n\n- [A hammer](https://tools.example/h) — heavy"
    assert page.evaluate(PASTE, ["", markdown, None])
    expect(page.locator(".sf-paste-summary")).to_have_text(
        "Pasted 2 blocks: 1 heading, 1 link list with 1 link."
    )
    assert kinds_on(page) == ["markdown", "link_list", "heading", "link_list"]
    page.click(".sf-paste-undo")
    assert kinds_on(page) == ["markdown", "link_list", "markdown"]

    # Too big: said at once, nothing sent, nothing changed.
    huge = "<p>" + "a" * 2_100_000 + "</p>"
    assert page.evaluate(PASTE, [huge, "a", STREAM])
    expect(page.locator(".sf-paste-refused")).to_contain_text(
        "This paste is 2.1 MB; at most 2.0 MB is turned into blocks at once."
    )
    expect(page.locator(BLOCKS)).to_have_count(3)
    assert page.input_value("[name=blocks-0-markdown__body]") == "Opening words."

    # Hostile HTML: no script runs, no javascript: link arrives.
    page.evaluate("window.pwned = false")
    assert page.evaluate(
        PASTE,
        [
            '<script>window.pwned = true</script><p>Hi <a href="javascript:window.pwned=true">'
            'there</a><img src="x" onerror="window.pwned = true"></p>',
            "Hi there",
            STREAM,
        ],
    )
    expect(page.locator(".sf-paste-summary")).to_have_text(
        "Pasted 1 block: 1 text block. Left out: 1 script."
    )
    body = page.locator(f"{BLOCKS}").last.locator("textarea")
    assert body.input_value() == "Hi there"
    assert page.evaluate("window.pwned") is False

    # A paste that comes to nothing: "Updating…" while it is turned into blocks, then the
    # preview looks again and says what it said before, with nothing changed.
    status = page.locator(".sf-live-status")
    expect(status).not_to_have_text("Updating…", timeout=15_000)
    before = status.text_content()
    assert page.evaluate(PASTE, ["<script>window.pwned = true</script>", "", STREAM])
    assert status.text_content() == "Updating…"
    expect(page.locator(".sf-paste-refused")).to_contain_text("Nothing was changed.")
    expect(status).to_have_text(before, timeout=15_000)
    expect(page.locator(BLOCKS)).to_have_count(4)
