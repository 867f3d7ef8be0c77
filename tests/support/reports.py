"""Sending issues the way a publisher does, and reading what readers received, for reports."""

import re

from django.test import Client

from issues.models import Dispatch

from .delivery import wait_for_dispatch

HREF = re.compile(r'href="([^"]+)"')


def send_from_the_admin(issue, user) -> Dispatch:
    """Press "Send now" on the issue's admin page and wait for the worker to finish."""
    publisher = Client()
    publisher.force_login(user)
    response = publisher.post(f"/admin/issues/issue/{issue.pk}/send/")
    assert response.status_code == 302, response.status_code
    return wait_for_dispatch(Dispatch.objects.filter(issue=issue).latest("pk"), timeout=90)


def received_by(sink, issue) -> dict:
    """``{address: parsed message}`` of the issue's copies the SMTP sink took."""
    subject = issue.snapshot.subject
    return {m.rcpt_tos[0]: m.message for m in sink.messages if m.message["Subject"] == subject}


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def header_unsubscribe_url(message) -> str:
    """The https URL of the message's ``List-Unsubscribe`` header."""
    return re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)


def footer_unsubscribe_url(message) -> str:
    """The unsubscribe link a reader clicks in the email's footer."""
    return next(url for url in HREF.findall(html_of(message)) if "/unsubscribe/" in url)
