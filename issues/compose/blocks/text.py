"""Words: section headings and Markdown text."""

from ..fields import MarkdownField, OneLineField
from ..plain_text import markdown_text
from .base import BlockKind, register
from .sanitizer import markdown_html, markdown_links


@register
class Heading(BlockKind):
    name, label = "heading", "Section heading"
    help = "Starts a section; it becomes an anchor and a line in the table of contents."

    def fields(self):
        return {
            "title": OneLineField(max_length=200),
            "emoji": OneLineField(max_length=16, required=False, help_text="Optional, e.g. 📰"),
        }

    def context(self, data, ctx):
        return {**data, "anchor": ctx.anchor(data["title"])}

    def text(self, data, ctx):
        line = f"{data.get('emoji', '')} {data['title']}".strip()
        return f"{line}\n{'=' * len(line)}"

    def heading(self, data, prepared):
        return {"id": prepared["anchor"], "title": data["title"]}


@register
class MarkdownText(BlockKind):
    name, label = "markdown", "Text (Markdown)"

    def fields(self):
        return {
            "body": MarkdownField(
                rows=10,
                help_text="Markdown: **bold**, _italic_, [link](https://…), lists, ### headings.",
            )
        }

    def context(self, data, ctx):
        return {"html": markdown_html(data["body"])}

    def text(self, data, ctx):
        return markdown_text(data["body"])

    def links(self, data):
        return markdown_links(data["body"])
