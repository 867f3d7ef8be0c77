"""Sharing cards: the picture a link to an issue shows on social sites and in chats.

An issue with a cover image shares its cover. Without one, it gets a generated card: the
newsletter's brand colour, its name, the issue number and title. A card is drawn once, the
first time a page asks for it, and kept in the default storage under a name made of what is
drawn on it; a new title (or colour, or name) is a new name, so a card never goes stale and
nothing has to delete one. Drawing takes tens of milliseconds; a page render after the
first only checks that the file exists, and cached pages do not even do that.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont

from superfast.contrast import best_ink, channels

from ..models import Issue

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
# Bump when the drawing changes: every card is then drawn anew under a new name.
CARD_VERSION = 1
TITLE_SIZES = (80, 68, 58, 50)  # the largest size at which the whole title fits is used
LINE_SPACING = 1.18


@dataclass(frozen=True)
class CardText:
    """Everything drawn on a card; its hash names the stored file."""

    colour: str
    newsletter: str
    label: str
    title: str

    def file_name(self, newsletter_slug: str, issue_id: int) -> str:
        digest = hashlib.sha256(repr((CARD_VERSION, self)).encode()).hexdigest()[:16]
        return f"sharing/{newsletter_slug}/{issue_id}-{digest}.png"


def card_text(issue: Issue) -> CardText:
    newsletter = issue.newsletter
    return CardText(
        colour=newsletter.brand_color,
        newsletter=newsletter.name,
        label=f"Issue #{issue.number}",
        title=" ".join(issue.public_title.split()),
    )


def card_url(issue: Issue) -> str:
    """The stored card of ``issue`` (drawn now if it was never drawn), as a storage URL."""
    text = card_text(issue)
    name = text.file_name(issue.newsletter.slug, issue.pk)
    if not default_storage.exists(name):
        stored = default_storage.save(name, ContentFile(draw_card(text)))
        if stored != name:
            # Another process stored the same card meanwhile: keep one copy, theirs.
            default_storage.delete(stored)
    return default_storage.url(name)


CARD_INKS = ("#ffffff", "#111111")  # white or near-black, whichever reads better


def font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled scalable font (Aileron): no system font package needed.
    return ImageFont.load_default(size=size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``text`` in lines no wider than ``width``; a word too long for a line is split."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if face.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while face.getlength(word) > width:
            fits = [n for n in range(2, len(word)) if face.getlength(word[:n]) <= width]
            cut = fits[-1] if fits else 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def fit_title(title: str, width: int, height: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest title size whose lines fit the box; at the smallest, cut with an ellipsis."""
    for size in TITLE_SIZES:
        face = font(size)
        lines = wrap(title, face, width)
        if len(lines) * line_height(face) <= height:
            return face, lines
    return face, with_ellipsis(lines, face, width, max(height // line_height(face), 1))


def with_ellipsis(lines: list[str], face, width: int, count: int) -> list[str]:
    """The first ``count`` lines, the last one ending in "…" when anything was cut."""
    if len(lines) <= count:
        return lines
    kept = lines[:count]
    last = kept[-1]
    while last and face.getlength(last + " …") > width:
        last = last[:-1].rstrip()
    kept[-1] = last + " …"
    return kept


def line_height(face: ImageFont.FreeTypeFont) -> int:
    return round(face.size * LINE_SPACING)


def draw_card(text: CardText) -> bytes:
    """The card as PNG bytes, WIDTH × HEIGHT: name and rule on top, number and title below."""
    background = channels(text.colour)
    ink = channels(best_ink(text.colour, CARD_INKS))
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN

    name_face = font(40)
    name = with_ellipsis(wrap(text.newsletter, name_face, inner), name_face, inner, 1)[0]
    draw.text((MARGIN, MARGIN - 10), name, font=name_face, fill=ink)
    rule_y = MARGIN + 52
    draw.rectangle((MARGIN, rule_y, MARGIN + 96, rule_y + 6), fill=ink)

    label_face = font(34)
    label_y = rule_y + 48
    draw.text((MARGIN, label_y), text.label, font=label_face, fill=ink)
    title_y = label_y + 62
    title_face, lines = fit_title(text.title, inner, HEIGHT - MARGIN + 16 - title_y)
    for line in lines:
        draw.text((MARGIN, title_y), line, font=title_face, fill=ink)
        title_y += line_height(title_face)

    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()
