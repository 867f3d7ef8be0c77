"""The one sanitizer: every piece of Markdown or HTML an editor writes passes through here.

Markdown becomes HTML, then nh3 keeps only the tags, attributes and URL schemes listed below,
so no script, style, frame, event attribute or ``javascript:``/``data:`` link reaches a page
or an email, whatever a block kind or an importer hands in.
"""

import re
import threading
from functools import lru_cache
from urllib.parse import urlsplit

import markdown
import nh3

SAFE_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["sane_lists", "tables", "fenced_code", "smarty"]
ALLOWED_TAGS = {
    "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "sub",
    "sup", "a", "ul", "ol", "li", "blockquote", "code", "pre", "table", "thead", "tbody", "tr",
    "th", "td", "img", "abbr", "mark", "small",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}


def safe_url(url: str) -> str:
    """``url`` if it is http(s) or mailto, else empty: nothing else reaches an href."""
    url = (url or "").strip()
    scheme = urlsplit(url).scheme.lower() if url else ""
    return url if scheme in SAFE_SCHEMES else ""


_converters = threading.local()


def markdown_converter() -> markdown.Markdown:
    """This thread's Markdown converter, reset: building one costs more than converting a block."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS, output_format="html")
        _converters.markdown = converter
    return converter.reset()


@lru_cache(maxsize=2048)
def markdown_html(source: str) -> str:
    """Markdown to HTML, then sanitized: raw HTML in the source is allowed only if harmless.

    Cached by source: a render converts each text twice (web and email), and the live preview
    renders a whole issue on every pause in typing while only one block changed.
    """
    html = markdown_converter().convert(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# One render asks for the same Markdown three times (web, email, plain text), and previews
# ask again for every change: the sanitized HTML of a source is remembered.
markdown_html = lru_cache(maxsize=2048)(markdown_html)

MARKDOWN_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_links(source: str) -> list[str]:
    """Every link target (not image) written in Markdown ``source``, for the pre-send checks."""
    return [url for bang, _, url in MARKDOWN_LINK.findall(source or "") if not bang]
