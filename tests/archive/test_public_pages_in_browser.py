"""Every public page in real Chromium, as a reader sees it on a phone and a desktop, light
and dark: axe-core finds nothing serious, the header lines up with the text column and
stays compact on a phone, and the screenshots are kept to look at."""

import json

import pytest

from tests.support.browser import serious_accessibility_violations
from tests.support.public_pages import make_public_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCHEMES = ("light", "dark")
# Pages looked at on a phone too: one of each layout.
PHONE_PAGES = ("home", "archive", "issue", "subscribe", "preferences")
PHONE_HEADER_MAX_HEIGHT = 80


def slug(name):
    return name.replace(" ", "-")


def test_every_public_page_passes_axe_light_and_dark_and_lines_up(
    live_server, browser, artifacts_dir
):
    site = make_public_site()
    found = {}
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()

    def check(name):
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            violations = serious_accessibility_violations(page)
            if violations:
                found[f"{name} ({scheme})"] = violations
            page.screenshot(path=artifacts_dir / f"public-{slug(name)}-desktop-{scheme}.png")
        page.emulate_media(color_scheme="light")

    def submit(button_name):
        with page.expect_navigation():
            page.get_by_role("button", name=button_name).click()

    try:
        for name, path in site.pages.items():
            page.goto(live_server.url + path)
            check(name)
            if name == "home":
                # The header's edges are the text's edges, not a wider box's.
                header = page.locator(".site-name").bounding_box()
                text = page.locator("main h1").bounding_box()
                assert abs(header["x"] - text["x"]) <= 1, (header, text)
            if name == "subscribe":
                page.get_by_label("Email address").fill("new@example.net")
                page.get_by_label("Newsletter").select_option("harbour-notes")
                submit("Subscribe")
                check("check inbox")
            if name == "confirm":
                submit("Confirm my subscription")
                check("confirmed")
            if name == "unsubscribe":
                submit("Unsubscribe")
                check("unsubscribed")

        page.set_viewport_size(PHONE)
        for name in PHONE_PAGES:
            page.goto(live_server.url + site.pages[name])
            for scheme in SCHEMES:
                page.emulate_media(color_scheme=scheme)
                path = artifacts_dir / f"public-{slug(name)}-phone-{scheme}.png"
                page.screenshot(path=path, full_page=True)
            height = page.locator(".site-header").bounding_box()["height"]
            assert height <= PHONE_HEADER_MAX_HEIGHT, f"{name}: the header is {height}px"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width}px wide on a phone"
    finally:
        context.close()
    assert not found, json.dumps(found, indent=1)
