"""Helpers for the subscriber tests: newsletters, and links read out of captured mail."""

import re

from django.apps import apps

LINK = re.compile(r"https?://[^\s\"'<>]+")


def make_newsletter(slug="weekly", name="The Weekly Byte"):
    newsletter_model = apps.get_model("issues", "Newsletter")
    return newsletter_model.objects.create(
        name=name, slug=slug, from_name=name, from_email=f"{slug}@news.example.org"
    )


def text_of(received):
    """The plain-text part of a message captured by the SMTP sink."""
    return received.message.get_body(preferencelist=("plain",)).get_content()


def links_in(received, containing):
    return [url for url in LINK.findall(text_of(received)) if containing in url]


def path_of(url):
    """The path of an absolute site URL, for the test client."""
    return re.sub(r"^https?://[^/]+", "", url)


def mails_to(sink, address):
    return [m for m in sink.messages if address.lower() in [r.lower() for r in m.rcpt_tos]]
