"""Images, with their alt text, caption and credit."""

import re

from ..fields import ImageUploadField, OneLineField, url_field
from .base import BlockKind, image_context, register
from .sanitizer import safe_url

CREDIT_WORDS = re.compile(
    r"^(©|\(c\)|photo|image|picture|illustrat|drawn|drawing|credit|source|courtesy|by |via )",
    re.I,
)


def credit_line(credit: str) -> str:
    """The credit as its own phrase (“Credit: Ana Lima”), unless it already says what it is."""
    credit = credit.strip()
    return credit if not credit or CREDIT_WORDS.match(credit) else f"Credit: {credit}"


@register
class ImageBlock(BlockKind):
    name, label = "image", "Image"

    def fields(self):
        return {
            "image": ImageUploadField(help_text="JPEG, PNG, GIF or WebP."),
            "alt": OneLineField(
                max_length=300,
                help_text="What the image shows, for screen readers and inboxes that block images.",
            ),
            "caption": OneLineField(max_length=300, required=False),
            "credit": OneLineField(max_length=200, required=False),
            "link": url_field(required=False),
        }

    def context(self, data, ctx):
        return {
            **data,
            "credit": credit_line(data.get("credit") or ""),
            "img": image_context(data.get("image"), ctx),
            "link": safe_url(data.get("link", "")),
        }

    def text(self, data, ctx):
        parts = [f"[Image: {data.get('alt', '')}]"]
        if data.get("caption"):
            parts.append(data["caption"])
        if data.get("credit"):
            parts.append(credit_line(data["credit"]))
        if data.get("link"):
            parts.append(f"<{data['link']}>")
        return "\n".join(parts)

    def images(self, data):
        return [(data.get("image"), data.get("alt", ""))]

    def links(self, data):
        return [data["link"]] if data.get("link") else []
