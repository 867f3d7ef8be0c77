"""Each platform's posts as one shape (``Post``): where its export keeps them, and its old
addresses. Formats and their sources: tests/fixtures/importers/README.md.
"""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .exports import Export, ExportError

POST_CELL_LIMIT = 16 * 1024 * 1024  # a post's HTML can sit in one cell


@dataclass
class Post:
    """One post of another platform, before it becomes an issue."""

    external_id: str
    slug: str
    title: str
    date: datetime | None
    published: bool  # false: a draft (or scheduled), imported as a draft
    paid_only: bool = False  # imported as a draft: its readers paid for it there
    subtitle: str = ""
    html: str | None = None
    markdown: str | None = None
    old_path: str = ""

    @property
    def public(self) -> bool:
        return self.published and not self.paid_only and self.date is not None


def when(value: str | None) -> datetime | None:
    """A platform's timestamp (ISO 8601, ``Z`` or an offset, or naive = UTC)."""
    value = (value or "").strip()
    if not value:
        return None
    parsed = parse_datetime(value.replace("Z", "+00:00").replace(" ", "T", 1))
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def csv_rows(export: Export, name: str) -> list[dict]:
    """The export's CSV ``name``, read with room for a post's HTML in a cell. The csv module's
    limit is one for the whole process: it is raised only while this file is read, so the
    subscriber imports keep theirs."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, POST_CELL_LIMIT))
    try:
        return list(csv.DictReader(io.StringIO(export.text(name))))
    finally:
        csv.field_size_limit(limit)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "t", "1", "yes")


# Substack -----------------------------------------------------------------------------------

SUBSTACK_PAID = {"only_paid", "founding"}


def substack_posts(export: Export) -> list[Post]:
    """``posts.csv`` (``post_id`` = ``<id>.<slug>``) and ``posts/<post_id>.html``."""
    listing = export.find("posts.csv")
    if listing is None:
        raise ExportError("this is not a Substack export: it has no posts.csv.")
    folder = listing[: -len("posts.csv")]
    posts = []
    for row in csv_rows(export, listing):
        post_id = (row.get("post_id") or "").strip()
        if not post_id:
            continue
        number, _, slug = post_id.partition(".")
        body = f"{folder}posts/{post_id}.html"
        posts.append(
            Post(
                external_id=number,
                slug=slug or number,
                title=(row.get("title") or "").strip() or slug,
                subtitle=(row.get("subtitle") or "").strip(),
                date=when(row.get("post_date")) or when(row.get("email_sent_at")),
                published=truthy(row.get("is_published")),
                paid_only=(row.get("audience") or "").strip() in SUBSTACK_PAID,
                html=export.text(body) if body in export.names() else "",
                old_path=f"/p/{slug}" if slug else "",
            )
        )
    return posts


# Ghost --------------------------------------------------------------------------------------

GHOST_PAID = {"paid", "tiers"}
GHOST_URL = "__GHOST_URL__"


def ghost_posts(export: Export) -> list[Post]:
    """The JSON export: ``db[0].data`` (or ``data`` unwrapped) with ``posts`` (``html``
    and/or ``lexical``). Pages are not posts and stay behind."""
    names = [n for n in export.names() if n.endswith(".json")]
    if not names:
        raise ExportError("this is not a Ghost export: it has no .json file.")
    try:
        document = json.loads(export.text(min(names, key=len)))
        data = (document["db"][0] if "db" in document else document)["data"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ExportError("this is not a Ghost export: no “db[0].data” in its JSON.") from None
    posts = []
    for item in data.get("posts") or []:
        if item.get("type", "post") != "post":
            continue
        html = item.get("html")
        if not html and item.get("lexical"):
            html = lexical_html(item["lexical"])
        # Ghost writes its own address as a placeholder: its images become paths
        # (``/content/images/…``), found in the export's zip when it carries them.
        html = (html or "").replace(GHOST_URL, "")
        slug = item.get("slug") or str(item.get("id"))
        posts.append(
            Post(
                external_id=str(item.get("id")),
                slug=slug,
                title=item.get("title") or slug,
                subtitle=item.get("custom_excerpt") or "",
                date=when(item.get("published_at")),
                published=item.get("status") == "published",
                paid_only=item.get("visibility") in GHOST_PAID,
                html=html or "",
                old_path=f"/{slug}/",
            )
        )
    return posts


LEXICAL_FORMATS = ((1, "strong"), (2, "em"), (8, "u"), (4, "s"), (16, "code"))


def lexical_html(source: str) -> str:
    """Ghost's Lexical document as plain HTML, for the one converter: the nodes that carry
    text, links, lists, quotes, rules, images and raw HTML cards; unknown nodes keep their
    children."""
    try:
        root = json.loads(source)["root"]
    except (ValueError, KeyError, TypeError):
        return ""

    def render(node: dict) -> str:
        kind = node.get("type")
        inner = "".join(render(child) for child in node.get("children") or [])
        if kind == "text":
            text = escape(node.get("text", ""))
            for bit, tag in LEXICAL_FORMATS:
                if node.get("format", 0) & bit:
                    text = f"<{tag}>{text}</{tag}>"
            return text
        if kind == "linebreak":
            return "<br>"
        if kind in ("link", "autolink"):
            return f'<a href="{escape(node.get("url", ""))}">{inner}</a>'
        if kind in ("heading", "extended-heading"):
            tag = node.get("tag", "h2")
            return (
                f"<{tag}>{inner}</{tag}>" if tag in ("h1", "h2", "h3", "h4", "h5", "h6") else inner
            )
        if kind == "list":
            tag = "ol" if node.get("listType") == "number" else "ul"
            return f"<{tag}>{inner}</{tag}>"
        if kind == "listitem":
            return f"<li>{inner}</li>"
        if kind in ("quote", "aside", "extended-quote"):
            return f"<blockquote>{inner}</blockquote>"
        if kind == "horizontalrule":
            return "<hr>"
        if kind == "image":
            caption = f"<figcaption>{escape(node.get('caption', ''))}</figcaption>"
            src, alt = escape(node.get("src", "")), escape(node.get("altText", ""))
            return f'<figure><img src="{src}" alt="{alt}">{caption}</figure>'
        if kind == "html":
            return node.get("html", "")
        if kind in ("paragraph", "extended-text"):
            return f"<p>{inner}</p>"
        return inner

    return render(root)


# Buttondown ---------------------------------------------------------------------------------

BUTTONDOWN_DRAFT = {"draft", "scheduled", "about_to_send", "in_flight", "paused", "throttled"}
BUTTONDOWN_PAID = {"premium", "private", "paid"}
EDITOR_MODE_COMMENT = "<!-- buttondown-editor-mode:"


def buttondown_posts(export: Export) -> list[Post]:
    """``emails.json`` or ``emails.csv`` (id, subject, publish_date, slug, …) and
    ``emails/<slug>.md`` with each email's Markdown body."""
    listing = export.find("emails.json") or export.find("emails.csv")
    if listing is None:
        raise ExportError("this is not a Buttondown export: it has no emails.csv or emails.json.")
    if listing.endswith(".json"):
        try:
            rows = json.loads(export.text(listing))
        except ValueError:
            raise ExportError("emails.json is not JSON.") from None
    else:
        rows = csv_rows(export, listing)
    folder = listing.rsplit("/", 1)[0] + "/" if "/" in listing else ""
    posts = []
    for row in rows:
        slug = (row.get("slug") or "").strip()
        body_name = f"{folder}emails/{slug}.md"
        body = export.text(body_name) if slug and body_name in export.names() else ""
        if body.startswith(EDITOR_MODE_COMMENT):
            body = body.split("-->", 1)[-1]
        status = (row.get("status") or "sent").strip().lower()
        audience = (row.get("email_type") or row.get("audience") or "public").strip().lower()
        posts.append(
            Post(
                external_id=str(row.get("id") or slug),
                slug=slug,
                title=(row.get("subject") or "").strip() or slug,
                date=when(row.get("publish_date")),
                published=status not in BUTTONDOWN_DRAFT,
                paid_only=audience in BUTTONDOWN_PAID,
                markdown=body,
                old_path=f"/archive/{slug}/" if slug else "",
            )
        )
    return posts


POST_READERS: dict[str, Callable[[Export], list[Post]]] = {
    "substack": substack_posts,
    "ghost": ghost_posts,
    "buttondown": buttondown_posts,
}

# Every platform an export can come from, as it writes its own name (in consent records and
# reports): the posts of some, the readers of all.
PLATFORM_NAMES = {
    "substack": "Substack",
    "ghost": "Ghost",
    "mailchimp": "Mailchimp",
    "beehiiv": "beehiiv",
    "buttondown": "Buttondown",
}
