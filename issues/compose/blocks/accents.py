"""What punctuates an issue: callouts and quotes, buttons, the sponsor slot, dividers."""

from django import forms

from ..colours import text_colour_on
from ..fields import ImageUploadField, MarkdownField, OneLineField, url_field
from ..plain_text import markdown_text
from .base import BlockKind, image_context, register
from .sanitizer import markdown_html, markdown_links, safe_url


@register
class Callout(BlockKind):
    name, label = "callout", "Callout or quote"

    def fields(self):
        return {
            "style": forms.ChoiceField(choices=[("note", "Callout"), ("quote", "Quote")]),
            "text": MarkdownField(help_text="Markdown allowed."),
            "attribution": OneLineField(max_length=200, required=False),
        }

    def context(self, data, ctx):
        return {**data, "html": markdown_html(data["text"])}

    def text(self, data, ctx):
        lines = [f"> {line}" for line in markdown_text(data["text"]).splitlines()]
        if data.get("attribution"):
            lines.append(f"> — {data['attribution']}")
        return "\n".join(lines)

    def links(self, data):
        return markdown_links(data["text"])


@register
class Button(BlockKind):
    name, label = "button", "Button"

    def fields(self):
        return {"label": OneLineField(max_length=80), "url": url_field()}

    def context(self, data, ctx):
        return {
            **data,
            "url": safe_url(data["url"]),
            "color": ctx.brand_color,
            "text_color": text_colour_on(ctx.brand_color),
        }

    def text(self, data, ctx):
        return f"{data['label']}: <{data['url']}>"

    def links(self, data):
        return [data["url"]]


@register
class Sponsor(BlockKind):
    name, label = "sponsor", "Sponsor"

    def fields(self):
        return {
            "name": OneLineField(max_length=200),
            "logo": ImageUploadField(required=False),
            "text": MarkdownField(help_text="Markdown allowed."),
            "url": url_field(),
            "label": OneLineField(max_length=40, initial="Sponsored"),
        }

    def context(self, data, ctx):
        return {
            **data,
            "html": markdown_html(data["text"]),
            "url": safe_url(data["url"]),
            "logo": image_context(data.get("logo"), ctx, max_width=160),
        }

    def text(self, data, ctx):
        return (
            f"{data.get('label') or 'Sponsored'}: {data['name']}\n"
            f"{markdown_text(data['text'])}\n<{data['url']}>"
        )

    def images(self, data):
        return [(data["logo"], data["name"])] if data.get("logo") else []

    def links(self, data):
        return [data["url"], *markdown_links(data["text"])]


@register
class Divider(BlockKind):
    name, label = "divider", "Divider"

    def text(self, data, ctx):
        return "* * *"
