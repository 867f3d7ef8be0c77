"""Send a test of an issue to editors: the real email, harmless links, no delivery record."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import escape

from . import placeholders
from .models import Issue
from .rendering import RenderedIssue, render_issue

TEST_PREFIX = "[TEST] "


def example_values(address: str = "reader@example.org") -> dict[str, str]:
    """What stands in for one recipient's links in tests and previews: links that do nothing."""
    return {
        placeholders.UNSUBSCRIBE_URL: f"{settings.SITE_URL}/#example-unsubscribe-link",
        placeholders.PREFERENCES_URL: f"{settings.SITE_URL}/#example-preferences-link",
        placeholders.SUBSCRIBER_NAME: "Example Reader",
        placeholders.SUBSCRIBER_EMAIL: address,
    }


def fill(text: str, values: dict[str, str], *, html: bool) -> str:
    for marker, value in values.items():
        text = text.replace(marker, escape(value) if html else value)
    return text


def example_email(rendered: RenderedIssue) -> tuple[str, str]:
    """(email HTML, text) exactly as a reader gets them, with the example links filled in."""
    values = example_values()
    return fill(rendered.email_html, values, html=True), fill(rendered.text, values, html=False)


def send_test(issue: Issue, addresses: list[str]) -> int:
    """Mail the issue to ``addresses`` through the configured backend; returns how many went.

    It goes through Django's mail backend only: no Delivery row, no recipient counts.
    """
    rendered = render_issue(issue)
    newsletter = issue.newsletter
    messages = []
    for address in addresses:
        values = example_values(address)
        message = EmailMultiAlternatives(
            subject=TEST_PREFIX + rendered.subject,
            body=fill(rendered.text, values, html=False),
            from_email=newsletter.sender,
            to=[address],
            reply_to=[newsletter.reply_to] if newsletter.reply_to else None,
        )
        message.attach_alternative(fill(rendered.email_html, values, html=True), "text/html")
        messages.append(message)
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
