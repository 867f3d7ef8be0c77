"""An issue rendered once into everything readers get: web body, email, plain text.

``render_issue`` is pure (it reads the issue and its blocks, writes nothing);
``issues.delivery.snapshot`` stores its result as the issue's snapshot at send time, after which the
archive and every delivery use the snapshot and later edits change nothing that was sent.
The email and text carry the markers of ``issues.compose.markers`` where each recipient's own
links go, so sending never renders a template per recipient.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

from ..models import Block, Issue, Snapshot
from .blocks import KINDS, RenderContext
from .colours import email_colours
from .emoji_presentation import html_in_colour
from .images import scaled_height
from .markers import Markers, new_key

GMAIL_CLIP_BYTES = 102 * 1024
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass
class RenderedIssue:
    subject: str
    preheader: str
    web_html: str
    email_html: str
    text: str
    headings: list = field(default_factory=list)
    search_text: str = ""
    marker_key: str = ""  # names this render's per-recipient markers (issues.compose.markers)


SNAPSHOT_FIELDS = (
    "subject",
    "preheader",
    "web_html",
    "email_html",
    "text",
    "headings",
    "search_text",
    "marker_key",
)


def stream(issue: Issue) -> list[Block]:
    return list(issue.blocks.select_related("library_block").order_by("position", "id"))


def render_blocks(blocks: list[Block], ctx: RenderContext, *, marks: bool = False):
    """Each block's HTML and text for one channel, plus the headings met on the way.

    ``marks`` puts an empty anchor ``sf-block-<position>`` before each block, so the editor's
    live preview can scroll to the block being edited (never in what is sent).
    """
    html, text, headings = [], [], []
    for block in blocks:
        kind_name, data = block.content
        kind = KINDS.get(kind_name)
        if kind is None:  # its class was removed from the code; presend_warnings names it
            continue
        prepared = kind.context(data, ctx)
        mark = f'<a id="sf-block-{block.position}"></a>' if marks else ""
        html.append(
            mark
            + render_to_string(kind.template, {"b": prepared, "email": ctx.email, "kind": kind})
        )
        text.append(kind.text(data, ctx))
        if entry := kind.heading(data, prepared):
            headings.append(entry)
        ctx.opened = True
    return html, text, headings


def absolute(url: str) -> str:
    return url if urlsplit(url).scheme else settings.SITE_URL + url


def cover(issue: Issue) -> dict | None:
    if not issue.cover_image:
        return None
    width, height = issue.cover_image.width, issue.cover_image.height
    return {
        "src": absolute(issue.cover_image.url),
        "width": min(width, 600),
        "height": scaled_height(width, height, min(width, 600)),
    }


def render_issue(
    issue: Issue, *, blocks: list[Block] | None = None, marks: bool = False
) -> RenderedIssue:
    """Render ``issue`` as it stands now (library blocks as they are now).

    ``blocks`` renders unsaved blocks instead of the stored stream (the live preview).
    """
    newsletter = issue.newsletter
    blocks = stream(issue) if blocks is None else blocks
    # A welcome email has no public page to view it on.
    web_url = settings.SITE_URL + issue.get_absolute_url() if issue.is_published_kind else ""
    colour = newsletter.brand_color
    markers = Markers(new_key())
    web_parts, _, headings = render_blocks(
        blocks, RenderContext(brand_color=colour, issue_id=issue.pk or 0), marks=marks
    )
    email_context = RenderContext(email=True, web_url=web_url, brand_color=colour, markers=markers)
    email_parts, text_parts, _ = render_blocks(blocks, email_context, marks=marks)
    subject = issue.subject or issue.title
    context = {
        "issue": issue,
        "newsletter": newsletter,
        "colours": email_colours(newsletter.brand_color),
        "subject": subject,
        "preheader": issue.preheader,
        "cover": cover(issue),
        "logo": absolute(newsletter.logo.url) if newsletter.logo else "",
        "web_url": web_url,
        "unsubscribe_url": markers.unsubscribe_url,
        "preferences_url": markers.preferences_url,
    }
    web_html = render_to_string(
        "issues/web_body.html", {**context, "blocks": [mark_safe(p) for p in web_parts]}
    )
    email_html = INLINER.inline(
        render_to_string(
            "email/issue.html", {**context, "blocks": [mark_safe(p) for p in email_parts]}
        )
    )
    text = render_to_string(
        "email/issue.txt", {**context, "blocks": [t for t in text_parts if t.strip()]}
    )
    web_html = html_in_colour(web_html)
    return RenderedIssue(
        subject=subject,
        preheader=issue.preheader,
        web_html=web_html.strip(),
        email_html=html_in_colour(email_html),
        text=html_in_colour(re.sub(r"\n{4,}", "\n\n\n", text).strip() + "\n"),
        headings=headings,
        search_text=searchable_text(web_html),
        marker_key=markers.key,
    )


# Tags that end a line of text (closing tags of blocks, line breaks, rules): the words on
# either side stay apart ("Models<br>aka" is two words, not "Modelsaka").
LINE_ENDING_TAGS = re.compile(
    r"(</(?:li|p|h[1-6]|div|td|th|dt|dd|summary|figcaption|blockquote)>|<(?:br|hr)\b[^>]*>)",
    re.IGNORECASE,
)


# Controls (a quiz's "This is the lie" buttons) are not words of the issue.
BUTTONS = re.compile(r"<button\b[^>]*>.*?</button>", re.IGNORECASE | re.DOTALL)


def searchable_text(web_html: str) -> str:
    """The words of the web body, one space apart, for search and its snippets."""
    words = strip_tags(LINE_ENDING_TAGS.sub(r"\1 ", BUTTONS.sub(" ", web_html)))
    return " ".join(words.split())


def unsaved_snapshot(issue: Issue) -> Snapshot:
    """The issue rendered now, as a Snapshot not stored: for test sends and previews."""
    rendered = render_issue(issue)
    return Snapshot(issue=issue, **{name: getattr(rendered, name) for name in SNAPSHOT_FIELDS})


def presend_warnings(issue: Issue, rendered: RenderedIssue | None = None) -> list[str]:
    """What an editor should fix before sending; sending is still allowed."""
    rendered = rendered or render_issue(issue)
    warnings = []
    if not (issue.subject or issue.title).strip():
        warnings.append("The subject line is empty.")
    blocks = stream(issue)
    if not blocks:
        warnings.append("The issue has no blocks yet.")
    size = len(rendered.email_html.encode())
    if size > GMAIL_CLIP_BYTES:
        warnings.append(
            f"The email is {size / 1024:.0f} KB: Gmail clips messages over 102 KB and hides "
            "the rest, unsubscribe link included. Shorten it or split it."
        )
    for number, block in enumerate(blocks, start=1):
        kind_name, data = block.content
        kind = KINDS.get(kind_name)
        if kind is None:
            warnings.append(f"Block {number} is of a kind “{kind_name}” that no longer exists.")
            continue
        for image, alt in kind.images(data):
            if image and not alt.strip():
                warnings.append(f"Block {number} ({kind.label}): an image has no alt text.")
        for url in kind.links(data):
            if urlsplit(url).scheme not in ("http", "https", "mailto"):
                warnings.append(
                    f"Block {number} ({kind.label}): the link “{url}” is not http(s); "
                    "readers could not open it."
                )
    return warnings
