"""Example values for one reader's links in previews and test sends."""

from django.conf import settings
from django.utils.html import escape

from .markers import Markers
from .rendering import RenderedIssue

TEST_PREFIX = "[TEST] "


def example_links(markers: Markers) -> dict[str, str]:
    """What stands in for one recipient's links in tests and previews: links that do nothing."""
    return {
        markers.unsubscribe_url: f"{settings.SITE_URL}/#example-unsubscribe-link",
        markers.preferences_url: f"{settings.SITE_URL}/#example-preferences-link",
        # A quiz's vote links become /q/example.<quiz>.<headline>/: a page that says so.
        markers.voter: "example",
    }


def fill(text: str, values: dict[str, str], *, html: bool) -> str:
    for marker, value in values.items():
        text = text.replace(marker, escape(value) if html else value)
    return text


def example_email(rendered: RenderedIssue) -> tuple[str, str]:
    """(email HTML, text) exactly as a reader gets them, with the example links filled in."""
    values = example_links(Markers(rendered.marker_key))
    return fill(rendered.email_html, values, html=True), fill(rendered.text, values, html=False)
