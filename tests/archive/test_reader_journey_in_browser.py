"""A reader's journey through the archive in real Chromium, on a phone and a desktop.

axe-core checks every public page in light and dark mode in test_public_pages_in_browser.
"""

import pytest

from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def archive_site(newsletter):
    make_newsletter("river-weekly", "River Weekly", description="News from upriver.")
    make_issue(newsletter, "First light on the water", days_ago=21, topic="ferry")
    make_issue(newsletter, "Storm over the quay", days_ago=14)
    return make_issue(newsletter, "Calm after the storm", days_ago=7, topic="pilot-boat")


@pytest.mark.parametrize("device", VIEWPORTS)
def test_reader_goes_from_home_to_an_issue_its_quiz_and_the_subscribe_form(
    live_server, browser, archive_site, artifacts_dir, device
):
    viewport = VIEWPORTS[device]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        # The subscribe form is above the fold, the latest issue follows in full.
        email = page.get_by_label("Email address")
        box = email.bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"]
        assert page.locator(".issue-title").inner_text() == "Calm after the storm"
        assert page.locator(".issue-body details").count() == 1
        page.screenshot(path=artifacts_dir / f"archive-home-{device}.png", full_page=True)

        page.get_by_role("link", name="Browse every past issue").click()
        page.wait_for_url("**/archive/")
        cards = page.locator(".card-title a")
        assert cards.all_inner_texts() == [
            "Calm after the storm",
            "Storm over the quay",
            "First light on the water",
        ]
        page.screenshot(path=artifacts_dir / f"archive-list-{device}.png", full_page=True)

        page.get_by_role("link", name="Storm over the quay").click()
        page.wait_for_url("**/harbour-notes/storm-over-the-quay/")
        assert page.get_by_role("heading", level=1).inner_text() == "Storm over the quay"

        toc = page.get_by_role("navigation", name="In this issue")
        toc.get_by_role("link", name="3 headlines and a lie").click()
        page.wait_for_url("**#quiz")
        quiz_heading = page.locator("h2#quiz")
        assert quiz_heading.evaluate("el => el.getBoundingClientRect().top") < 100

        answer = page.get_by_text("Number 3 is the lie")
        assert not answer.is_visible()
        page.get_by_text("Reveal the lie").click()
        assert answer.is_visible()
        page.screenshot(path=artifacts_dir / f"archive-issue-quiz-{device}.png")

        form = page.locator("#subscribe form.sf-subscribe")
        form.scroll_into_view_if_needed()
        form.get_by_label("Email address").fill("reader@example.org")
        form.get_by_label("Name").fill("Ada Reader")
        assert form.get_attribute("action") == "/subscribe/"
        assert form.get_attribute("method") == "post"
        assert form.locator("input[name=newsletter]").get_attribute("value") == "harbour-notes"
        page.get_by_role("link", name="Next issue").wait_for()
        page.screenshot(path=artifacts_dir / f"archive-issue-{device}.png", full_page=True)

        # Keyboard users get the skip link first, and can see where focus is.
        page.goto(live_server.url + "/archive/")
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.className, getComputedStyle(document.activeElement)"
            ".outlineStyle]"
        )
        assert focused == ["skip-link", "solid"]
    finally:
        context.close()


def test_search_results_page_is_accessible_and_highlights_hits(
    live_server, page, archive_site, artifacts_dir
):
    page.goto(live_server.url + "/")
    page.get_by_label("Search the archive").fill("ferry")
    page.get_by_label("Search the archive").press("Enter")
    page.wait_for_url("**/search/?q=ferry")
    assert page.locator(".issue-card").count() == 1
    assert page.locator(".snippet mark").count() >= 1
    page.screenshot(path=artifacts_dir / "archive-search-desktop.png", full_page=True)


def test_issue_page_reads_well_in_dark_mode(live_server, page, archive_site, artifacts_dir):
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url + archive_site.get_absolute_url())
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 27)"
    page.get_by_text("Reveal the lie").click()
    page.screenshot(path=artifacts_dir / "archive-issue-dark-desktop.png", full_page=True)


@pytest.mark.parametrize("device", VIEWPORTS)
def test_not_found_page_offers_search_and_the_way_back(
    live_server, browser, archive_site, artifacts_dir, device
):
    context = browser.new_context(viewport=VIEWPORTS[device])
    page = context.new_page()
    try:
        response = page.goto(live_server.url + "/harbour-notes/no-such-issue/")
        assert response.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "This page is not here"
        page.screenshot(path=artifacts_dir / f"archive-404-{device}.png", full_page=True)

        page.get_by_label("Search every issue").fill("ferry")
        page.get_by_label("Search every issue").press("Enter")
        page.wait_for_url("**/search/?q=ferry")
        assert page.locator(".issue-card").count() == 1
    finally:
        context.close()
