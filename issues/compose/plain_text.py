"""Markdown as readers of the plain-text part should see it: words, not markup.

The Markdown is rendered to HTML first and the HTML is then written out as text, so
emphasis, code spans and escapes (``\\*``) come out exactly as Markdown meant them, whatever
the syntax used. Links become ``title <url>``. Quotes and dashes stay as the editor typed
them (no typographic replacements), and raw HTML in the source leaves only its words.
"""

import threading
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

import markdown

TEXT_EXTENSIONS = ["sane_lists", "tables", "fenced_code"]

SILENT_TAGS = {"script", "style", "template", "textarea", "title"}  # their content is no text
BLOCK_TAGS = {"p", "div", "blockquote", "pre", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5"}
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class TextWriter(HTMLParser):
    """Collects paragraphs of text from HTML; lists get ``-`` or ``1.``, quotes ``>``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.line: list[str] = []
        self.lists: list[list] = []  # one [kind, counter] per open list
        self.quote_depth = 0
        self.links: list[str] = []  # href of each open <a>, to compare with its text
        self.link_start = 0
        self.in_pre = False
        self.silent = 0

    def flush(self):
        text = "".join(self.line)
        if not self.in_pre:
            text = " ".join(text.split())
        text = text.strip("\n")
        if text.strip():
            prefix = "> " * self.quote_depth
            self.paragraphs.append("\n".join(prefix + line for line in text.split("\n")))
        self.line = []

    def handle_starttag(self, tag, attrs):
        if tag in SILENT_TAGS:
            self.silent += 1
        if tag in BLOCK_TAGS or tag in HEADING_TAGS or tag == "li":
            self.flush()
        if tag in ("ul", "ol"):
            start = dict(attrs).get("start")
            self.lists.append([tag, int(start) - 1 if start and start.isdigit() else 0])
        elif tag == "li" and self.lists:
            current = self.lists[-1]
            current[1] += 1
            indent = "  " * (len(self.lists) - 1)
            self.line.append(f"{indent}{current[1]}. " if current[0] == "ol" else f"{indent}- ")
        elif tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.in_pre = True
        elif tag == "br":
            self.line.append("\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.link_start = len("".join(self.line))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.line.append(f"[{alt}]")
        elif tag in ("td", "th") and self.line:
            self.line.append(" | ")

    def handle_endtag(self, tag):
        if tag in SILENT_TAGS:
            self.silent = max(self.silent - 1, 0)
        elif tag == "a" and self.links:
            url = self.links.pop()
            title = "".join(self.line)[self.link_start :].strip()
            if url and url != title:
                self.line.append(f" <{url}>" if title else f"<{url}>")
        elif tag in ("ul", "ol") and self.lists:
            self.flush()
            self.lists.pop()
        elif tag == "blockquote":
            self.flush()
            self.quote_depth = max(self.quote_depth - 1, 0)
        elif tag == "pre":
            self.flush()
            self.in_pre = False
        elif tag in BLOCK_TAGS or tag in HEADING_TAGS or tag in ("li", "tr"):
            self.flush()

    def handle_data(self, data):
        if not self.silent:
            self.line.append(data)

    def text(self) -> str:
        self.close()
        self.flush()
        lines, previous_was_item = [], False
        for paragraph in self.paragraphs:
            is_item = paragraph.lstrip("> ").lstrip().startswith("- ") or _numbered(paragraph)
            # List items stay together; everything else is a paragraph of its own.
            lines.append(("\n" if is_item and previous_was_item else "\n\n") + paragraph)
            previous_was_item = is_item
        return unescape("".join(lines)).strip()


def _numbered(paragraph: str) -> bool:
    head = paragraph.lstrip("> ").lstrip().split(" ", 1)[0]
    return head[:-1].isdigit() and head.endswith(".")


def html_text(html: str) -> str:
    """Sanitized HTML (as ``markdown_html`` makes it) as plain text."""
    writer = TextWriter()
    writer.feed(html or "")
    return writer.text()


_converters = threading.local()


@lru_cache(maxsize=2048)
def markdown_text(source: str) -> str:
    """Markdown as plain text: words without markup or escapes; links become ``title <url>``."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown.Markdown(extensions=TEXT_EXTENSIONS, output_format="html")
        _converters.markdown = converter
    return html_text(converter.reset().convert(source or ""))
