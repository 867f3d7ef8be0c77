"""A draft pasted into the block stream: the clipboard's HTML (or Markdown) as blocks.

The editor pastes a whole draft (Google Docs, Word, Notion, a web page, another newsletter's
web version) and gets blocks, never stored by this module: the editor's form receives them,
and saving (or autosave) stores them like typed ones. So that a paste and an import never
disagree, HTML goes through the one converter of the platform importers
(``html_blocks.convert_html`` and ``build_blocks``), and plain Markdown through the reader of
``import_issue`` (``markup.read_pasted``).

Pictures are stored like a file the editor uploads (the image kind's own checks): a picture
given in the clipboard itself (a ``data:`` URL) is read from there, any other is fetched by the
one server-side fetcher (``fetcher.fetch``: public addresses only, bounded time and size),
in the editor's request (the editor waits for the blocks anyway) within one time budget. A
picture that cannot be had stays at its address as a Markdown image, and the summary says so.

A paste is bounded before anything is parsed: ``MAX_PASTE_BYTES`` of clipboard, at most
``MAX_PASTED_ELEMENTS`` HTML elements (parsing stops there), ``MAX_PASTED_BLOCKS`` blocks and
``MAX_PASTED_IMAGES`` pictures fetched; a paste over a limit
is refused with words that say which (``PasteRefused``), and the stream is left as it was.
"""

import base64
import binascii
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings

from ..compose.blocks import get_kind
from ..compose.images import MAX_UPLOAD_BYTES
from ..compose.markup import ImportedBlock, MarkupError, read_pasted
from .fetcher import FetchError, fetch
from .html_blocks import TooManyElements, build_blocks, convert_html

MAX_PASTE_BYTES = 2_000_000  # under Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
MAX_PASTED_BLOCKS = 300
MAX_PASTED_ELEMENTS = 20_000  # a 300-block Google Docs copy has a few thousand
MAX_PASTED_IMAGES = 20
FETCH_BUDGET_SECONDS = 20.0  # all of a paste's pictures together, in the editor's request
DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.I)
# What the summary calls each kind a paste makes (singular, plural), in the summary's order;
# other kinds by their label, at the end.
NOUNS = {
    "heading": ("heading", "headings"),
    "link_list": ("link list", "link lists"),
    "image": ("image", "images"),
    "callout": ("quote", "quotes"),
    "button": ("button", "buttons"),
    "divider": ("divider", "dividers"),
    "markdown": ("text block", "text blocks"),
}
# Removed pieces worth telling the editor about (a document's <meta>, <title> or <style>,
# which every Word copy carries, are not).
TOLD_REMOVED = {"script", "form", "iframe", "object", "embed", "svg", "canvas"}


class PasteRefused(Exception):
    """A paste not turned into blocks; the message says why, in the editor's words."""


@dataclass
class Pasted:
    blocks: list[ImportedBlock]
    title: str = ""  # a pasted Markdown file's “# Title”
    problems: list[str] = field(default_factory=list)
    removed: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """What the paste made, by kind: “21 blocks: 8 headings, 3 link lists with 8 links…”."""
        count = len(self.blocks)
        if not count:
            return "The paste made no blocks."
        kinds = Counter(block.kind for block in self.blocks)
        parts = []
        order = list(NOUNS)
        for kind in sorted(kinds, key=lambda k: order.index(k) if k in order else len(order)):
            n = kinds[kind]
            one, many = NOUNS.get(kind) or (get_kind(kind).label.lower(),) * 2
            part = f"{n} {one if n == 1 else many}"
            if kind == "link_list":
                links = sum(len(b.data.get("items") or []) for b in self.blocks if b.kind == kind)
                part += f" with {links} link{'' if links == 1 else 's'}"
            parts.append(part)
        said = f"{count} block{'' if count == 1 else 's'}: {', '.join(parts)}."
        told = {tag: n for tag, n in self.removed.items() if tag in TOLD_REMOVED}
        if told:
            said += " Left out: " + ", ".join(f"{n} {tag}" for tag, n in sorted(told.items())) + "."
        return said


class PastedImages:
    """The picture behind each address of a paste, as ``build_blocks`` asks for it."""

    def __init__(self, limit: int = MAX_PASTED_IMAGES, budget: float = FETCH_BUDGET_SECONDS):
        self.limit = limit
        self.fetched = 0
        self.deadline = time.monotonic() + budget
        self.problems: list[str] = []

    def __call__(self, url: str) -> bytes | None:
        if DATA_URL.match(url):
            return self.inline(url)
        if not url.lower().startswith(("http://", "https://")):
            return None
        left = self.deadline - time.monotonic()
        if self.fetched >= self.limit or left <= 0:
            self.problems.append(
                f"image “{url[:80]}” kept at its address: a paste fetches at most "
                f"{self.limit} pictures in {FETCH_BUDGET_SECONDS:.0f} s."
            )
            return None
        self.fetched += 1
        timeout = min(settings.FETCH_TIMEOUT_SECONDS, left)
        try:
            page = fetch(url, max_bytes=MAX_UPLOAD_BYTES, timeout=timeout, accept="image/*")
        except FetchError as error:
            self.problems.append(f"image “{url[:80]}” kept at its address: {error}.")
            return None
        if page.status != 200:
            self.problems.append(
                f"image “{url[:80]}” kept at its address: its server answered {page.status}."
            )
            return None
        return page.body

    def inline(self, url: str) -> bytes | None:
        encoded = url.partition(",")[2]
        if len(encoded) * 3 // 4 > MAX_UPLOAD_BYTES:
            self.problems.append("an image in the paste is larger than an upload may be: left out.")
            return None
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            self.problems.append("an image in the paste could not be read: left out.")
            return None


def paste_blocks(html: str, text: str, images: PastedImages | None = None) -> Pasted:
    """The blocks a clipboard's ``html`` (else its ``text`` as Markdown) reads as, each
    validated by its kind as if typed; raises PasteRefused."""
    size = len(html.encode()) + len(text.encode())
    if size > MAX_PASTE_BYTES:
        raise PasteRefused(
            f"This paste is {size / 1_000_000:.1f} MB; at most {MAX_PASTE_BYTES // 1_000_000} MB "
            "is turned into blocks at once. Paste the draft in parts."
        )
    if html.strip():
        try:
            conversion = convert_html(html, max_elements=MAX_PASTED_ELEMENTS)
        except TooManyElements:
            raise PasteRefused(
                f"This paste has more than {MAX_PASTED_ELEMENTS:,} HTML elements; paste the "
                "draft in parts."
            ) from None
        if conversion.drafts:
            return pasted_html(conversion.drafts, conversion.removed, images or PastedImages())
    if not text.strip():
        raise PasteRefused("The clipboard holds nothing that makes a block.")
    try:
        read = read_pasted(text)
    except MarkupError as error:
        where = f"Line {error.line}: " if error.line else ""
        raise PasteRefused(f"{where}{error.message[:1].upper()}{error.message[1:]}") from None
    too_many(len(read.blocks))
    return Pasted(read.blocks, title=read.title)


def pasted_html(drafts, removed: Counter, images: PastedImages) -> Pasted:
    too_many(len(drafts))
    built = build_blocks(drafts, image_source=images)
    problems = images.problems + built.problems
    return Pasted(built.blocks, problems=problems, removed=removed)


def too_many(count: int) -> None:
    if count > MAX_PASTED_BLOCKS:
        raise PasteRefused(
            f"This paste would make {count} blocks; at most {MAX_PASTED_BLOCKS} are added at "
            "once. Paste the draft in parts."
        )
