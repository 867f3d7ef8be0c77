"""An editor builds an issue in a real browser, reorders it, and previews the email."""

import pytest

from issues.models import Block, Issue
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import make_library_block, place
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def log_in(page, live_server, django_user_model):
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)


def fill_row(page, field, row, **parts):
    for part, value in parts.items():
        page.fill(f'[name="{field}-{row}-{part}"]', value)


def drag_block_above(page, row, target, screenshot):
    """Drag ``row`` by its handle onto the top half of ``target``, as a mouse would."""
    page.locator(f"{row} .sf-drag").scroll_into_view_if_needed()
    handle = page.locator(f"{row} .sf-drag").bounding_box()
    page.mouse.move(handle["x"] + 4, handle["y"] + 4)
    page.mouse.down()
    page.mouse.move(handle["x"] + 20, handle["y"] + 30, steps=4)  # the drag starts, blocks fold
    page.wait_for_selector(".sf-sorting", state="attached")
    page.screenshot(path=screenshot)
    for title_bar in (f"{row} h3", f"{target} h3"):  # back onto the folded row, then up
        box = page.locator(title_bar).bounding_box()
        page.mouse.move(box["x"] + 80, box["y"] + 4, steps=6)
    page.mouse.up()


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
    links = "blocks-2-link_list__items"
    fill_row(page, links, 0, title="A good read", url="https://example.org/read", note="worth it")
    page.click("#blocks-2 .sf-item-add")  # a fourth row, after the three empty ones
    fill_row(page, links, 3, title="Another read", url="example.org/another")
    page.click(f"#blocks-2 .sf-item:has([name='{links}-1-title']) .sf-item-remove")
    assert not page.is_visible(f'[name="{links}-1-title"]')
    page.click("button.sf-add-quiz")
    headlines = "blocks-3-quiz__headlines"
    fill_row(page, headlines, 0, title="Cats vote", url="https://example.org/cats")
    fill_row(page, headlines, 1, title="Moon made of cheese")
    fill_row(page, headlines, 2, title="Rain falls", url="https://example.org/rain")
    page.check(f'[name="{headlines}-pick"][value="1"]')
    page.fill('[name="blocks-3-quiz__reveal"]', "It is rock all the way down.")
    page.click("button.sf-add-library")
    page.select_option('[name="blocks-4-library_block"]', label="Sign-off")
    # Only the chosen kind's fields show.
    assert page.is_visible('[name="blocks-1-markdown__body"]')
    assert not page.is_visible('[name="blocks-1-heading__title"]')

    page.click("#blocks-1 .sf-move-up")  # the keyboard way: the intro moves above the heading
    # The quiz, dragged above the heading.
    drag_block_above(page, "#blocks-3", "#blocks-0", artifacts_dir / "compose-dragging.png")
    page.screenshot(path=artifacts_dir / "compose-issue-form.png", full_page=True)
    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")

    issue = Issue.objects.get(title="Built in the browser")
    blocks = list(issue.blocks.order_by("position"))
    assert [b.kind for b in blocks] == ["markdown", "quiz", "heading", "link_list", Block.LIBRARY]
    assert [item["title"] for item in blocks[3].data["items"]] == ["A good read", "Another read"]
    assert blocks[1].data["fake"] == 2
    page.screenshot(path=artifacts_dir / "compose-issue-saved.png", full_page=True)

    page.click("text=Preview")
    page.wait_for_url(f"**/admin/issues/issue/{issue.pk}/preview/")
    desktop = page.frame_locator("#preview-email-desktop")
    desktop.locator("text=The library sign-off").wait_for()
    page.frame_locator("#preview-web").locator("text=The library sign-off").wait_for()
    page.screenshot(path=artifacts_dir / "compose-preview.png", full_page=True)

    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/preview/email/")
    body = page.text_content("body")
    order = [
        body.index("An intro paragraph"),
        body.index("Moon made of cheese"),
        body.index("Top stories"),
        body.index("A good read"),
        body.index("Another read"),
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


def test_link_list_rows_show_each_mistake_next_to_its_input_and_keep_the_typing(
    live_server, page, artifacts_dir, django_user_model
):
    log_in(page, live_server, django_user_model)
    page.goto(f"{live_server.url}/admin/issues/libraryblock/add/")
    page.fill('[name="name"]', "Further reading")
    page.select_option('[name="kind"]', "link_list")
    fill_row(page, "link_list__items", 0, title="Fine", url="https://fine.example")
    fill_row(page, "link_list__items", 1, title="Broken", url="not a link", note="typo")
    page.click('input[name="_save"]')
    wrong = page.locator(".sf-item:has([name='link_list__items-1-url']) .sf-item-url .errorlist")
    assert wrong.text_content() == "“not a link” is not a web address (https://…)."
    assert page.input_value('[name="link_list__items-1-note"]') == "typo"
    page.screenshot(path=artifacts_dir / "compose-item-rows-error.png", full_page=True)
    page.fill('[name="link_list__items-1-url"]', "https://fixed.example")
    page.click('input[name="_save"]')
    page.wait_for_selector(".messagelist .success")
    assert "Fine <https://fine.example>" in page.text_content("#result_list")


def test_issue_buttons_do_not_cover_the_issue_title(
    live_server, page, artifacts_dir, django_user_model
):
    issue = make_issue(make_newsletter(), title="A title long enough to reach under the buttons")
    log_in(page, live_server, django_user_model)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    page.screenshot(path=artifacts_dir / "issue-object-tools.png")
    title = page.get_by_role("heading", name=issue.title).bounding_box()
    for button in page.locator(".object-tools li :is(a, button)").all():
        box = button.bounding_box()
        apart = (
            box["y"] >= title["y"] + title["height"]
            or box["y"] + box["height"] <= title["y"]
            or box["x"] >= title["x"] + title["width"]
        )
        assert apart, f"{button.inner_text()!r} covers the issue title"


def test_the_live_preview_shows_an_image_before_it_is_saved_and_the_save_keeps_it(
    live_server, page, artifacts_dir, django_user_model, tmp_path, media_root
):
    from tests.support.composing import image_bytes

    issue = make_issue(make_newsletter(), "Pictures")
    (tmp_path / "square.png").write_bytes(image_bytes((800, 800)))
    log_in(page, live_server, django_user_model)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    page.click("button.sf-add-image")
    page.set_input_files('[name="blocks-0-image__image"]', str(tmp_path / "square.png"))
    page.fill('[name="blocks-0-image__alt"]', "A blue square")
    page.wait_for_function(
        """() => {
            const doc = document.querySelector('.sf-live-frame').contentDocument;
            return !!(doc && doc.querySelector('img[alt="A blue square"]'));
        }""",
        timeout=15_000,
    )
    assert page.text_content(".sf-live-status") == "Up to date."
    assert page.locator('[name="blocks-0-image__image-kept"]').count() == 1
    page.screenshot(path=artifacts_dir / "live-preview-unsaved-image.png", full_page=True)

    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    image = issue.blocks.get().data["image"]
    assert image["width"] == 800
    originals = [p for p in (media_root / "images").iterdir() if p.is_file()]
    assert [p.name for p in originals] == [image["path"].rsplit("/", 1)[1]]  # stored once
