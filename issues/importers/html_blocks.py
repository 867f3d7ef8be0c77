"""HTML → blocks: the one converter for other platforms' posts and for pasted HTML.

A real HTML parser (the standard library's ``html.parser``) builds a small tree; each
top-level piece then becomes the block kind that keeps its meaning:

- ``h1``–``h6`` → a section heading (a leading emoji goes to the heading's emoji field);
- a list whose items are mostly links → link lists (link text → title, the rest → note),
  the items without a link staying Markdown in their place;
- an image (alone, in a ``figure`` with its caption, or in a link) → an image block; its
  remote address is kept on the draft until the importer stores or reports it;
- ``blockquote`` → a quote callout; ``hr`` → a divider; a lone button link → a button;
- an embed that cannot be kept (``iframe``, ``video``, ``audio``, ``object``) → a one-item
  link list pointing at it, with a note saying what it was;
- scripts, styles and forms → dropped (counted in the summary);
- everything else → Markdown text, merged into one block until another kind interrupts.

The drafts are data only (nothing is stored): ``build_blocks`` validates each through its
kind's own form (``BlockKind.validate``), exactly as the editor's input, and the Markdown is
sanitized on render by ``issues.compose.blocks.sanitizer`` like any other text.
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from ..compose.blocks import get_kind, safe_url
from ..compose.markup import ImportedBlock, split_emoji

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "param"}  # fmt: skip
DROPPED = {"script", "style", "noscript", "template", "form", "input", "button", "select",
           "textarea", "head", "title", "meta", "link", "svg", "canvas"}  # fmt: skip
EMBEDS = {"iframe", "video", "audio", "object", "embed"}
CONTAINERS = {"div", "section", "article", "main", "body", "html", "header", "footer", "aside",
              "center", "span"}  # fmt: skip
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# What makes an element a block of its own wherever it sits: an inline element holding one
# (Google Docs wraps a whole copied document in ``<b style="font-weight:normal">``) is a
# container, not a run of bold text.
STRUCTURE = HEADINGS | CONTAINERS - {"span"} | {"p", "ul", "ol", "blockquote", "hr", "figure",
                                               "pre", "table"}  # fmt: skip
BOLD_STYLE = re.compile(r"font-weight\s*:\s*(bold|bolder|[6-9]00)\b", re.I)
NOT_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(normal|lighter|[1-5]00)\b", re.I)
ITALIC_STYLE = re.compile(r"font-style\s*:\s*(italic|oblique)\b", re.I)
NOTE_SEPARATORS = " \t\n—–-:|·•,"
MAX_TITLE, MAX_NOTE, MAX_LINE = 200, 300, 300
MAX_DEPTH = 100  # elements deep; far more than documents nest, far less than the stack allows


@dataclass
class Node:
    tag: str
    attrs: dict = field(default_factory=dict)
    children: list = field(default_factory=list)  # Nodes and strings

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def elements(self) -> list["Node"]:
        return [child for child in self.children if isinstance(child, Node)]

    @cached_property
    def holds_blocks(self) -> bool:
        """Whether a block element is somewhere inside (asked at every level: kept)."""
        return any(
            child.tag in STRUCTURE or child.holds_blocks
            for child in self.elements()
            if child.tag not in DROPPED
        )

    def find(self, tag: str) -> "Node | None":
        for child in self.elements():
            if child.tag == tag:
                return child
            found = child.find(tag)
            if found is not None:
                return found
        return None


class TreeBuilder(HTMLParser):
    """A forgiving tree: unclosed tags close with their parent, stray end tags are ignored.

    Elements nested deeper than ``MAX_DEPTH`` are kept, but as children of the deepest one
    (as if empty): the converter walks the tree recursively, and a document nested thousands
    deep (hostile, or a paste of unclosed tags) must not exhaust the stack.
    """

    def __init__(self, max_elements: int | None = None):
        super().__init__(convert_charrefs=True)
        self.root = Node("root")
        self.stack = [self.root]
        self.elements_left = max_elements

    def handle_starttag(self, tag, attrs):
        if self.elements_left is not None:
            self.elements_left -= 1
            if self.elements_left < 0:
                raise TooManyElements
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID and len(self.stack) < MAX_DEPTH:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


class TooManyElements(ValueError):
    """The HTML has more elements than the caller reads (parsing stops at once)."""


WORD_LIST_ITEM = re.compile(r"mso-list\s*:\s*l\d+", re.I)
WORD_LIST_MARKER = re.compile(r"mso-list\s*:\s*ignore", re.I)


def word_lists(children: list) -> list:
    """``children`` with Word's lists made lists again.

    Word puts a list on the clipboard as paragraphs styled ``mso-list:l0 level1 lfo1``, each
    starting with its bullet or number in a span styled ``mso-list:Ignore`` (inside
    ``<![if !supportLists]>``, which the parser skips). A run of such paragraphs becomes a
    ``ul`` (an ``ol`` when the first marker is a number) of items without the markers.
    """
    if not any(
        isinstance(c, Node) and WORD_LIST_ITEM.search(c.attrs.get("style", "")) for c in children
    ):
        return children
    result: list = []
    run: Node | None = None
    for child in children:
        if (
            isinstance(child, Node)
            and child.tag == "p"
            and WORD_LIST_ITEM.search(child.attrs.get("style", ""))
        ):
            marker = next(
                (
                    n
                    for n in descendants(child)
                    if WORD_LIST_MARKER.search(n.attrs.get("style", ""))
                ),
                None,
            )
            if run is None:
                numbered = marker is not None and text_of(marker).strip()[:1].isdigit()
                run = Node("ol" if numbered else "ul")
                result.append(run)
            run.children.append(Node("li", children=without(child.children, marker)))
        elif run is not None and isinstance(child, str) and not child.strip():
            continue  # the line breaks between Word's paragraphs
        else:
            run = None
            result.append(child)
    return result


def descendants(node: Node):
    for child in node.elements():
        yield child
        yield from descendants(child)


def without(children: list, unwanted: Node | None) -> list:
    """``children`` with the element ``unwanted`` taken out wherever it sits."""
    if unwanted is None:
        return children
    kept = []
    for child in children:
        if child is unwanted:
            continue
        if isinstance(child, Node):
            child = Node(child.tag, child.attrs, without(child.children, unwanted))
        kept.append(child)
    return kept


def parse(html: str, max_elements: int | None = None) -> Node:
    builder = TreeBuilder(max_elements)
    builder.feed(html or "")
    builder.close()
    return builder.root


@dataclass
class BlockDraft:
    """A block to be: its kind and raw values, as the kind's form takes them.

    An image draft carries ``image_url`` (where the picture is) instead of a file: the
    importer stores it when the export holds it, or keeps it remote and reports it.
    """

    kind: str
    data: dict
    image_url: str = ""


@dataclass
class Conversion:
    drafts: list[BlockDraft]
    removed: Counter  # what was dropped (scripts, styles, forms), by tag

    def summary(self) -> Counter:
        return Counter(draft.kind for draft in self.drafts)


# Inline HTML → Markdown ---------------------------------------------------------------------

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")
LINE_START_SPECIAL = re.compile(r"^(\s*)([#>+-]|\d+[.)])(\s)", re.M)


def escape_text(text: str) -> str:
    text = MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url: str) -> str:
    """A URL as a Markdown link target: nothing in it can end the link early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace('"', "%22")


def text_of(node: Node | str) -> str:
    if isinstance(node, str):
        return node
    if node.tag in DROPPED:
        return ""
    return "".join(text_of(child) for child in node.children)


def marked(text: str, mark: str) -> str:
    """``text`` emphasised with ``mark``, the spaces around it left outside the marks (a
    Markdown mark next to a space does not count)."""
    words = text.strip()
    if not words:
        return text
    start = text.index(words[0])
    return f"{text[:start]}{mark}{words}{mark}{text[start + len(words) :]}"


def one_line(text: str, limit: int = MAX_LINE) -> str:
    return " ".join(text.split())[:limit]


class Converter:
    def __init__(self):
        self.drafts: list[BlockDraft] = []
        self.text: list[str] = []
        self.removed: Counter = Counter()

    # Blocks ---------------------------------------------------------------------------------

    def convert(self, root: Node) -> Conversion:
        self.walk(root)
        self.flush()
        return Conversion(self.drafts, self.removed)

    def add(self, kind: str, data: dict, image_url: str = "") -> None:
        self.flush()
        self.drafts.append(BlockDraft(kind, data, image_url))

    def flush(self) -> None:
        body = "\n\n".join(part for part in self.text if part.strip()).strip()
        self.text.clear()
        if body:
            self.drafts.append(BlockDraft("markdown", {"body": body}))

    def walk(self, node: Node) -> None:
        inline: list[Node | str] = []
        for child in word_lists(node.children):
            if isinstance(child, Node) and self.is_block(child):
                self.paragraph(inline)
                inline = []
                self.block(child)
            else:
                inline.append(child)
        self.paragraph(inline)

    def is_block(self, node: Node) -> bool:
        return node.tag in STRUCTURE | DROPPED | EMBEDS | {"img", "picture"} or (
            node.tag != "a" and node.holds_blocks
        )

    def paragraph(self, inline: list) -> None:
        text = "".join(self.inline(child) for child in inline).strip()
        if text:
            self.text.append(text)

    def block(self, node: Node) -> None:
        tag = node.tag
        if tag in DROPPED:
            self.removed[tag] += 1
        elif tag in HEADINGS:
            emoji, title = split_emoji(one_line(text_of(node), MAX_TITLE))
            if title:
                self.add("heading", {"title": title, "emoji": emoji[:16]})
        elif tag == "hr":
            self.add("divider", {})
        elif tag in EMBEDS:
            self.embed(node)
        elif tag in ("ul", "ol"):
            self.list(node)
        elif tag == "blockquote":
            self.quote(node)
        elif tag in ("figure", "img", "picture") or self.lone_image(node):
            self.image(node)
        elif tag == "p" and (button := self.lone_button(node)):
            self.add("button", button)
        elif tag == "pre":
            code = text_of(node).strip("\n")
            fence = "~~~" if "```" in code else "```"
            self.text.append(f"{fence}\n{code}\n{fence}")
        elif tag == "table":
            self.text.append(self.table(node))
        elif tag == "p" and not node.holds_blocks:
            self.paragraph(node.children)
        else:  # a container: its children are blocks of their own
            self.walk(node)

    def lone_image(self, node: Node) -> bool:
        """A paragraph (or link) holding an image and nothing else that shows."""
        return (
            node.tag in ("p", "a")
            and node.find("img") is not None
            and not text_of(node).strip()
            and node.find("iframe") is None
        )

    def lone_button(self, node: Node) -> dict | None:
        links = [child for child in node.elements() if child.tag == "a"]
        if len(links) != 1 or text_of(node).strip() != text_of(links[0]).strip():
            return None
        link = links[0]
        url = safe_url(link.attrs.get("href", ""))
        if "button" not in " ".join(link.classes()) or not url:
            return None
        return {"label": one_line(text_of(link), 80), "url": url}

    def image(self, node: Node) -> None:
        img = node if node.tag == "img" else node.find("img")
        if img is None:
            iframe = node.find("iframe") or node.find("video")
            if iframe is not None:
                self.embed(iframe)
            else:
                self.walk(node)
            return
        caption_node = node.find("figcaption")
        link = node if node.tag == "a" else node.find("a")
        src = img.attrs.get("src", "")
        if not src and img.attrs.get("srcset"):
            src = img.attrs["srcset"].split(",")[0].split()[0]
        data = {
            "alt": one_line(img.attrs.get("alt", "") or img.attrs.get("title", "")),
            "caption": one_line(text_of(caption_node)) if caption_node else "",
            "credit": "",
            "link": safe_url(link.attrs.get("href", "")) if link is not None else "",
        }
        if data["link"] == src:
            data["link"] = ""  # a link to the full-size picture itself says nothing
        self.add("image", data, image_url=src)

    def embed(self, node: Node) -> None:
        src = node.attrs.get("src") or node.attrs.get("data") or ""
        if not src and (source := node.find("source")) is not None:
            src = source.attrs.get("src", "")
        url = safe_url(src)
        if not url:
            self.removed[node.tag] += 1
            return
        host = urlsplit(url).hostname or "the old site"
        what = {"iframe": "An embed", "video": "A video", "audio": "An audio clip"}.get(
            node.tag, "An embed"
        )
        title = one_line(node.attrs.get("title", "")) or f"{what} from {host}"
        note = f"{what} the original post showed here; follow the link to see it."
        self.add("link_list", {"items": [{"title": title[:MAX_TITLE], "url": url, "note": note}]})

    def quote(self, node: Node) -> None:
        inner = Converter()
        inner.walk(node)
        inner.flush()
        body = "\n\n".join(
            d.data["body"] if d.kind == "markdown" else self.draft_text(d) for d in inner.drafts
        ).strip()
        self.removed.update(inner.removed)
        if body:
            self.add("callout", {"style": "quote", "text": body, "attribution": ""})

    def draft_text(self, draft: BlockDraft) -> str:
        """A block nested where only text fits (a quote) as its Markdown."""
        if draft.kind == "heading":
            return f"**{escape_text(draft.data['title'])}**"
        if draft.kind == "link_list":
            return "\n".join(self.item_markdown(item) for item in draft.data["items"])
        if draft.kind == "image" and draft.image_url:
            return f"![{escape_text(draft.data['alt'])}]({link_target(draft.image_url)})"
        return ""

    @staticmethod
    def item_markdown(item: dict) -> str:
        note = f" — {escape_text(item['note'])}" if item.get("note") else ""
        return f"- [{escape_text(item['title'])}]({link_target(item['url'])}){note}"

    # Lists ----------------------------------------------------------------------------------

    def list(self, node: Node) -> None:
        items = [child for child in node.elements() if child.tag == "li"]
        rows = [self.link_item(item) for item in items]
        linked = sum(row is not None for row in rows)
        if node.tag == "ol" or not items or linked * 2 <= len(items):
            self.text.append(self.list_markdown(node))
            return
        run: list[dict] = []
        for item, row in zip(items, rows, strict=True):
            if row is None:
                if run:
                    self.add("link_list", {"items": run})
                    run = []
                self.text.append(self.list_markdown(Node("ul", children=[item])))
            else:
                run.append(row)
        if run:
            self.add("link_list", {"items": run})

    def link_item(self, item: Node) -> dict | None:
        """An item led by a link: its text the title, the rest of the item the note."""
        if any(child.tag in ("ul", "ol") for child in item.elements()):
            return None
        link = item.find("a")
        url = safe_url(link.attrs.get("href", "")) if link is not None else ""
        if link is None or not url or not urlsplit(url).scheme.startswith("http"):
            return None
        title = one_line(text_of(link), MAX_TITLE)
        whole = one_line(text_of(item), 10_000)
        before, _, after = whole.partition(title)
        if not title or len(before.strip(NOTE_SEPARATORS)) > len(title):
            return None  # a link inside a sentence: the item is prose
        note = " ".join(part.strip(NOTE_SEPARATORS) for part in (before, after)).strip()
        return {"title": title, "url": url, "note": note[:MAX_NOTE]}

    def list_markdown(self, node: Node, depth: int = 0) -> str:
        lines = []
        start = int(node.attrs.get("start") or 1) if node.attrs.get("start", "").isdigit() else 1
        for n, item in enumerate((c for c in node.elements() if c.tag == "li"), start=start):
            marker = f"{n}." if node.tag == "ol" else "-"
            own = [c for c in item.children if not (isinstance(c, Node) and c.tag in ("ul", "ol"))]
            text = " ".join("".join(self.inline(c) for c in own).split())
            lines.append(f"{'    ' * depth}{marker} {text}")
            for sub in item.elements():
                if sub.tag in ("ul", "ol"):
                    lines.append(self.list_markdown(sub, depth + 1))
        return "\n".join(lines)

    def table(self, node: Node) -> str:
        rows = []
        for row in (n for n in descendants(node) if n.tag == "tr"):
            cells = [one_line(self.inline_children(c)).replace("|", "\\|") for c in row.elements()]
            if cells:
                rows.append(cells)
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)

    # Inline ---------------------------------------------------------------------------------

    def inline_children(self, node: Node) -> str:
        return "".join(self.inline(child) for child in node.children)

    def inline(self, node: Node | str) -> str:
        if isinstance(node, str):
            return escape_text(re.sub(r"\s+", " ", node))
        tag = node.tag
        if tag in DROPPED:
            self.removed[tag] += 1
            return ""
        inner = self.inline_children(node)
        if tag == "br":
            return "  \n"
        style = node.attrs.get("style", "")
        bold = BOLD_STYLE.search(style) or (
            tag in ("strong", "b") and not NOT_BOLD_STYLE.search(style)
        )
        if bold:
            inner = marked(inner, "**")
        if tag in ("em", "i") or ITALIC_STYLE.search(style):
            inner = marked(inner, "_")
        if tag in ("s", "del", "strike") and inner.strip():
            return f"<del>{inner.strip()}</del>"
        if tag == "code":
            code = text_of(node)
            ticks = "``" if "`" in code else "`"
            return f"{ticks}{code}{ticks}" if code else ""
        if tag == "a":
            url = safe_url(node.attrs.get("href", ""))
            text = inner.strip()
            if not url:
                return inner
            return f"[{text or escape_text(url)}]({link_target(url)})"
        if tag == "img":
            src = safe_url(node.attrs.get("src", ""))
            alt = escape_text(one_line(node.attrs.get("alt", "")))
            return f"![{alt}]({link_target(src)})" if src else ""
        if tag in EMBEDS:
            url = safe_url(node.attrs.get("src", ""))
            return f"[{escape_text(url)}]({link_target(url)})" if url else ""
        return inner


def convert_html(html: str, *, max_elements: int | None = None) -> Conversion:
    """The drafts ``html`` reads as, and what was removed from it; ``TooManyElements`` past
    ``max_elements`` (the stdlib parser takes seconds for a few hundred thousand)."""
    return Converter().convert(parse(html, max_elements))


def html_to_blocks(html: str) -> list[BlockDraft]:
    return convert_html(html).drafts


# Drafts → validated blocks ------------------------------------------------------------------

ImageSource = Callable[[str], bytes | None]


class ImageUnavailable(Exception):
    """An image source could not give the picture; the message says why, for the report."""


@dataclass
class BuiltBlocks:
    blocks: list[ImportedBlock]
    remote_images: list[str]  # image addresses kept remote (shown from the old host)
    problems: list[str]  # drafts left out, and why


def build_blocks(drafts: list[BlockDraft], image_source: ImageSource | None = None) -> BuiltBlocks:
    """Each draft validated by its kind's own form, as if an editor had typed it.

    An image whose bytes ``image_source`` gives (the export carries it, or a fetcher got
    it) is checked and stored like an upload; any other stays at its remote address, in a
    Markdown image, and is listed in ``remote_images`` (with why in ``problems`` when the
    source failed or the upload checks refused it). A draft its kind refuses is left out
    and said in ``problems``: one bad piece never stops a post.
    """
    built = BuiltBlocks([], [], [])
    for draft in drafts:
        kind, raw = draft.kind, draft.data
        if kind == "image":
            stored = stored_image(draft, image_source, built.problems)
            if stored is not None:
                built.blocks.append(stored)
                continue
            if not safe_url(draft.image_url):
                built.problems.append(
                    f"image “{draft.image_url[:80]}” is not a web address: left out"
                )
                continue
            built.remote_images.append(draft.image_url)
            kind, raw = "markdown", {"body": remote_image_markdown(draft)}
        try:
            built.blocks.append(ImportedBlock(kind, get_kind(kind).validate(raw)))
        except ValidationError as error:
            built.problems.append(f"{draft.kind} block left out: {'; '.join(error.messages)}")
    return built


def stored_image(
    draft: BlockDraft, image_source: ImageSource | None, problems: list[str]
) -> ImportedBlock | None:
    """The image block, its picture checked and stored like an upload, when the source has it."""
    url = draft.image_url
    try:
        content = image_source(url) if image_source and url else None
    except ImageUnavailable as error:
        problems.append(f"image “{url[:80]}” {error}")
        return None
    if content is None:
        return None
    name = urlsplit(url).path.rsplit("/", 1)[-1][:100] or "image"
    raw = {**draft.data, "alt": draft.data.get("alt") or draft.data.get("caption") or "Image"}
    try:
        data = get_kind("image").validate(raw, {"image": SimpleUploadedFile(name, content)})
    except ValidationError as error:
        problems.append(f"image “{url[:80]}” not stored: {'; '.join(error.messages)}")
        return None
    return ImportedBlock("image", data)


def remote_image_markdown(draft: BlockDraft) -> str:
    """An image left at its address, as Markdown text (an image block holds stored files)."""
    caption = draft.data.get("caption")
    image = f"![{escape_text(draft.data.get('alt', ''))}]({link_target(draft.image_url)})"
    return image + (f"\n\n_{escape_text(caption)}_" if caption else "")
