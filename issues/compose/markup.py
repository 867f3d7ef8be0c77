"""An issue as Markdown and back: the syntax of ``import_issue`` and ``export_issue``.

Plain Markdown covers the common kinds: ``#`` the title, ``##`` a section heading (a leading
emoji goes to its own field), a list whose items are all ``- [Title](https://…) — note`` a
link list, ``![alt](path "caption")`` alone on its line an image, ``---`` alone a divider,
any other text Markdown text. Every kind also has a fenced form, so nothing is lost::

    ::: KIND ARGUMENT
    field: value          (the kind's one-line fields, one per line)
    - [Title](https://…)  (its list of items, if it has one; ``- [x]`` picks one)
    Markdown              (its long text, if it has one)
    :::

``::: library NAME`` places a block of the library. The form is read from the kind's own
form fields, so a new kind gets a syntax without a change here. An optional front matter
(``---`` / ``subject: …`` / ``preheader: …`` / ``---``) before the title carries the inbox
fields. ``export_markdown`` writes the shortest form that reads back to the same block, and
escapes what would read as syntax (``write_body``, ``item_line``): export then import is the
identity for any content the kinds accept (``tests/composing/test_markup_round_trip.py``).
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from ..models import Block, Issue, LibraryBlock
from . import images
from .blocks import KINDS, get_kind
from .fields import ImageUploadField, ItemError, ItemRowsField
from .images import UPLOAD_FOLDER, StoredImage, open_checked

IMAGE_LINE = re.compile(r'^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)(?:\s+"(?P<caption>[^"]*)")?\)$')
OPEN_LINK = re.compile(r"\]\([^)]*$|\[[^\]]*$")  # a link opened and not closed on its line
LIST_ITEM = re.compile(r"^\s*[-*+]\s+")
DIVIDER_LINE = re.compile(r"^(?:-{3,}|\*{3,}|(?:\* ){2,}\*)$")
FENCE_OPEN = re.compile(r"^:::\s*(?P<kind>[a-z_]+)\s*(?P<argument>.*?)\s*$")
FENCE_CLOSE = re.compile(r"^:::\s*$")
# A body line that would read as a fence is written with one more leading backslash, and
# read with one less: text that says ":::" stays text and cannot open or close a block. The
# first line of a body is escaped the same way when it would read as an option line or an
# item (``- …``) of its block.
ESCAPED_FENCE = re.compile(r"^(\\*):::")
OPTION = re.compile(r"^(?P<name>[a-z_]+):(?: (?P<value>.*))?$")
# An item: ``[Title](url) — note``, or a title alone. In the brackets a backslash escapes
# the next character (``\]``, ``\)``, ``\\``), as in Markdown links.
ROW = re.compile(
    r"^[-*+]\s+(?P<pick>\[x\]\s+)?"
    r"(?:\[(?P<title>(?:\\.|[^\\])+?)\]\((?P<url>(?:\\.|[^\\()\s])*)\)\s*(?:[—–:-]+\s*(?P<note>.*))?"
    r"|(?P<plain>.+?)(?:\s+—\s+(?P<plain_note>.*))?)$"
)
BACKSLASH_ESCAPE = re.compile(r"\\(.)")
FRONT_MATTER_KEYS = ("subject", "preheader")
LIBRARY = "library"
# The field a kind's fence line carries after its name (the rest are option lines).
ARGUMENTS = {
    "quiz": "title",
    "quiz_result": "title",
    "sponsor": "name",
    "button": "label",
    "image": "image",
}
# Fence names that stand for a kind with one field set: ``::: quote`` is a quote callout.
ALIASES = {"quote": ("callout", {"style": "quote"})}


class MarkupError(Exception):
    """Input that cannot be imported; ``line`` is where, when one line is to blame."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


@dataclass
class ImportedBlock:
    kind: str
    data: dict
    library_block: LibraryBlock | None = None


@dataclass
class ImportedIssue:
    title: str
    subject: str = ""
    preheader: str = ""
    blocks: list[ImportedBlock] = field(default_factory=list)


def split_emoji(title: str) -> tuple[str, str]:
    """A heading's leading emoji, if it has one, apart from its words."""
    first, _, rest = title.partition(" ")
    if rest and first and all(unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") for c in first):
        return first, rest.strip()
    return "", title


@dataclass
class KindShape:
    """Where each of a kind's form fields goes in the fenced form."""

    argument: str | None
    options: list[str]
    images: list[str]
    items: str | None
    body: str | None


def kind_shape(kind_name: str) -> KindShape:
    fields = get_kind(kind_name).fields()
    items = next((n for n, f in fields.items() if isinstance(f, ItemRowsField)), None)
    body = next(
        (n for n, f in fields.items() if isinstance(f.widget, forms.Textarea)),
        None,
    )
    images = [n for n, f in fields.items() if isinstance(f, ImageUploadField)]
    argument = ARGUMENTS.get(kind_name)
    options = [n for n in fields if n not in (items, body, argument)]
    return KindShape(argument, options, images, items, body)


def option_defaults(kind_name: str) -> dict:
    """What the admin form shows first in each field: an option left out takes it."""
    defaults = {}
    for name, form_field in get_kind(kind_name).fields().items():
        choices = getattr(form_field, "choices", None)
        default = form_field.initial or (choices[0][0] if choices else None)
        if default is not None:
            defaults[name] = default
    return defaults


# Reading ----------------------------------------------------------------------------------


class Reader:
    """Reads an issue's Markdown; images are files in ``folder`` or already in storage."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def issue(self, text: str) -> ImportedIssue:
        lines = text.splitlines()
        start, front = self.front_matter(lines)
        first = next((n for n in range(start, len(lines)) if lines[n].strip()), None)
        if first is None or not lines[first].startswith("# "):
            raise MarkupError("the first line must be the title, as “# Title”.")
        issue = ImportedIssue(title=lines[first][2:].strip(), **front)
        issue.blocks = self.blocks(lines[first + 1 :], first_number=first + 2)
        if not issue.blocks:
            raise MarkupError("there is nothing after the title.")
        return issue

    def front_matter(self, lines: list[str]) -> tuple[int, dict]:
        if not lines or lines[0].strip() != "---":
            return 0, {}
        values = {}
        for n, line in enumerate(lines[1:], start=1):
            if line.strip() == "---":
                return n + 1, values
            match = OPTION.match(line)
            if not match or match["name"] not in FRONT_MATTER_KEYS:
                keys = " and ".join(f"“{key}:”" for key in FRONT_MATTER_KEYS)
                raise MarkupError(f"the front matter may only set {keys}.", n + 1)
            values[match["name"]] = (match["value"] or "").strip()
        raise MarkupError("the front matter is not closed with “---”.", 1)

    def blocks(self, lines: list[str], first_number: int = 1) -> list[ImportedBlock]:
        blocks: list[ImportedBlock] = []
        chunk: list[tuple[int, str]] = []
        text: list[tuple[int, str]] = []

        def flush_text():
            body = "\n".join(line for _, line in text).strip()
            if body:
                start = next(number for number, line in text if line.strip())
                blocks.append(self.block("markdown", {"body": body}, line=start))
            text.clear()

        def flush_chunk():
            if not chunk:
                return
            if all(LIST_ITEM.match(line) for _, line in chunk) and any(
                "](" in line for _, line in chunk
            ):
                flush_text()
                blocks.append(self.link_list(chunk))
            elif len(chunk) == 1 and (match := IMAGE_LINE.match(chunk[0][1].strip())):
                flush_text()
                raw = {"alt": match["alt"], "caption": match["caption"] or ""}
                blocks.append(self.image_block(raw, {"image": match["src"]}, chunk[0][0]))
            elif len(chunk) == 1 and DIVIDER_LINE.match(chunk[0][1].strip()):
                flush_text()
                blocks.append(self.block("divider", {}, line=chunk[0][0]))
            else:
                text.extend(chunk)
                text.append((chunk[-1][0], ""))
            chunk.clear()

        numbered = iter(enumerate(lines, start=first_number))
        for number, line in numbered:
            if fence := FENCE_OPEN.match(line):
                flush_chunk()
                flush_text()
                body = []
                for inner_number, inner in numbered:
                    if FENCE_CLOSE.match(inner):
                        break
                    body.append((inner_number, inner))
                else:
                    raise MarkupError(f"“{line.strip()}” is not closed by a line “:::”.", number)
                blocks.append(self.fenced(fence["kind"], fence["argument"], body, number))
                continue
            if OPEN_LINK.search(line):
                raise MarkupError("a link is opened but not closed.", number)
            if line.startswith("# "):
                raise MarkupError("only the first line may be “# …”.", number)
            if line.startswith("## "):
                flush_chunk()
                flush_text()
                emoji, heading = split_emoji(line[3:].strip())
                raw = {"title": heading, "emoji": emoji}
                blocks.append(self.block("heading", raw, line=number))
            elif line.strip():
                chunk.append((number, line))
            else:
                flush_chunk()
        flush_chunk()
        flush_text()
        return blocks

    def link_list(self, chunk) -> ImportedBlock:
        items = []
        for number, line in chunk:
            try:
                item = self.row(line, number)
            except MarkupError:
                item = {}
            if not item.get("url") or item.get("pick"):
                raise MarkupError(
                    "a link list item must read “- [Title](https://…) — note”.", number
                )
            items.append(item)
        numbers = [number for number, _ in chunk]
        return self.block("link_list", {"items": items}, line=numbers[0], item_lines=numbers)

    def fenced(self, name: str, argument: str, lines, number: int) -> ImportedBlock:
        """A ``::: kind`` block; ``lines`` are its (line number, text) up to the closing ``:::``."""
        if name == LIBRARY:
            library_block = LibraryBlock.objects.filter(name=argument).first()
            if library_block is None:
                raise MarkupError(f"there is no library block named “{argument}”.", number)
            return ImportedBlock(Block.LIBRARY, {}, library_block)
        name, preset = ALIASES.get(name, (name, {}))
        if name not in KINDS:
            known = ", ".join([*KINDS, *ALIASES, LIBRARY])
            raise MarkupError(f"“::: {name}” is not a block kind; use one of {known}.", number)
        shape = kind_shape(name)
        raw = dict(preset)
        if shape.argument and argument:
            raw[shape.argument] = argument
        elif argument:
            raise MarkupError(f"“::: {name}” takes nothing after its name.", number)
        for option, default in option_defaults(name).items():
            raw.setdefault(option, default)
        rest = list(lines)
        while rest and (match := OPTION.match(rest[0][1])) and match["name"] in shape.options:
            raw[match["name"]] = (match["value"] or "").strip()
            rest.pop(0)
        item_lines: list[int] = []
        if shape.items:
            while rest and not rest[0][1].strip():
                rest.pop(0)
            rows = []
            while rest and LIST_ITEM.match(rest[0][1]):
                item_number, item = rest.pop(0)
                rows.append(self.row(item, item_number))
                item_lines.append(item_number)
            raw[shape.items] = rows
        if shape.body:
            raw[shape.body] = read_body([text for _, text in rest], shape)
        elif stray := next(((n, text) for n, text in rest if text.strip()), None):
            lines_it_has = ", ".join(f"“{option}: …”" for option in shape.options) or "none"
            raise MarkupError(
                f"“::: {name}” does not take “{stray[1].strip()}”; its lines: {lines_it_has}.",
                stray[0],
            )
        if shape.images:
            paths = {n: raw.pop(n) for n in shape.images if raw.get(n)}
            return self.image_block(raw, paths, number, kind=name)
        return self.block(name, raw, line=number, item_lines=item_lines)

    def row(self, line: str, number: int) -> dict:
        match = ROW.match(line.strip())
        if not match or (match["plain"] and OPEN_LINK.search(match["plain"])):
            raise MarkupError("an item must read “- [Title](https://…) — note”.", number)
        if match["title"] is not None:
            title, url, note = unescape(match["title"]), unescape(match["url"]), match["note"]
        else:
            title, url, note = match["plain"], "", match["plain_note"]
        row = {"title": title.strip(), "url": url, "note": (note or "").strip()}
        return {**row, "pick": True} if match["pick"] else row

    def image_block(self, raw, paths: dict, number: int, kind="image") -> ImportedBlock:
        files, initial = {}, {}
        for name, path in paths.items():
            found = self.image_file(path, number)
            if isinstance(found, StoredImage):
                initial[name] = found.as_dict()
            else:
                files[name] = found
        return self.block(kind, raw, files=files, initial=initial, line=number)

    def image_file(self, path: str, number: int):
        """A file next to the Markdown, or an image uploaded before (as exports name them)."""
        if not path.startswith(("http://", "https://")):
            if self.folder is not None:
                # Only files in the Markdown's folder (or below it): a path is no way to read
                # /etc/passwd or a neighbour's files.
                folder = self.folder.resolve()
                local = (folder / path).resolve()
                if local.is_relative_to(folder) and local.is_file():
                    if local.stat().st_size > images.MAX_UPLOAD_BYTES:
                        raise MarkupError(
                            f"image “{path}” is larger than "
                            f"{images.MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
                            number,
                        )
                    return SimpleUploadedFile(local.name, local.read_bytes())
            stored = PurePosixPath(path)
            uploaded = stored.parts[:1] == (UPLOAD_FOLDER,) and ".." not in stored.parts
            if uploaded and default_storage.exists(path):
                with default_storage.open(path, "rb") as source:
                    image = open_checked(source.read())
                return StoredImage(path=path, width=image.width, height=image.height)
        raise MarkupError(
            f"image “{path}” is not a file next to the Markdown; save it there and refer to "
            "it by its relative path.",
            number,
        )

    def block(
        self, kind, raw, files=None, initial=None, *, line: int, item_lines: Sequence[int] = ()
    ) -> ImportedBlock:
        """The block validated by its kind; refused with the line of the block, or of the
        item to blame (the first, when several are)."""
        try:
            return ImportedBlock(kind, get_kind(kind).validate(raw, files, initial=initial))
        except ValidationError as error:
            errors = named_errors(error)
            rows = [e.row for _, e in errors if isinstance(e, ItemError)]
            if rows and min(rows) < len(item_lines):
                line = item_lines[min(rows)]
            said = "; ".join(
                message if isinstance(e, ItemError) or not name else f"{name}: {message}"
                for name, e in errors
                for message in e.messages
            )
            raise MarkupError(f"{kind} block: {said}", line) from None


def named_errors(error: ValidationError) -> list[tuple[str, ValidationError]]:
    """Each error with the field it is about ("" for the block as a whole)."""
    if not hasattr(error, "error_dict"):
        return [("", e) for e in error.error_list]
    return [
        ("" if name == NON_FIELD_ERRORS else name, e)
        for name, errors in error.error_dict.items()
        for e in errors
    ]


def read_issue(text: str, *, folder: Path | None) -> ImportedIssue:
    """The issue ``text`` describes, every block validated; raises MarkupError."""
    return Reader(folder).issue(text)


def read_pasted(text: str) -> ImportedIssue:
    """Markdown pasted into the editor, split into blocks as ``import_issue`` splits a file.

    A first line “# Title” names the issue, as in a file; without one the paste is blocks
    only (the title stays ""). Images can only be ones this site stored: a paste has no
    folder next to it. Raises MarkupError.
    """
    lines = text.splitlines()
    if next((line for line in lines if line.strip()), "").startswith("# "):
        return read_issue(text, folder=None)
    return ImportedIssue(title="", blocks=Reader(None).blocks(lines))


# Writing ----------------------------------------------------------------------------------


def single_line(value) -> str:
    """A one-line value as written: line breaks (in content saved before they were refused)
    become spaces, so a value can never start a line of the syntax."""
    return " ".join(str(value).splitlines())


def escape(text: str, characters: str) -> str:
    return re.sub(f"([\\\\{re.escape(characters)}])", r"\\\1", text)


def unescape(text: str) -> str:
    return BACKSLASH_ESCAPE.sub(r"\1", text)


def item_line(row: dict) -> str:
    """The item as written: plainly when it reads back the same, else with escapes."""
    pick = "[x] " if row.get("pick") else ""
    title, url = single_line(row["title"]), single_line(row.get("url") or "")
    note = single_line(row.get("note") or "")
    after = f" — {note}" if note else ""
    expected = {"title": title, "url": url, "note": note, **({"pick": True} if pick else {})}
    plainly = [f"- {pick}{title}{after}"] if not url else []
    for line in [*plainly, f"- {pick}[{title}]({url}){after}"]:
        try:
            if Reader(folder=None).row(line, 0) == expected:
                return line
        except MarkupError:
            pass
    return f"- {pick}[{escape(title, '[]')}]({escape(url, '()')}){after}"


def first_line_pattern(shape: KindShape) -> re.Pattern:
    """What the first line of a body must not start with: an option of its kind, an item."""
    options = "|".join(shape.options)
    return re.compile(
        rf"^(\\*)(?::::|[-*+]\s|(?:{options}):)" if options else r"^(\\*)(?::::|[-*+]\s)"
    )


def write_body(text: str, shape: KindShape) -> list[str]:
    """The lines of a fenced block's long text, split where the import splits them, each
    that would read as a fence escaped (``ESCAPED_FENCE``), and the first one too when it
    would read as an option line or an item of its block."""
    lines = text.splitlines()
    first = first_line_pattern(shape)
    return [
        f"\\{line}" if (first if n == 0 else ESCAPED_FENCE).match(line) else line
        for n, line in enumerate(lines)
    ]


def read_body(lines: list[str], shape: KindShape) -> str:
    """The long text of a fenced block, its escapes undone (``write_body``)."""
    lines = "\n".join(lines).strip().split("\n")
    first = first_line_pattern(shape)
    return "\n".join(
        line[1:]
        if (match := (first if n == 0 else ESCAPED_FENCE).match(line)) and match[1]
        else line
        for n, line in enumerate(lines)
    )


def fenced_markup(kind_name: str, data: dict) -> str:
    shape = kind_shape(kind_name)
    values = get_kind(kind_name).form_values(data)

    def text(name):
        value = values.get(name)
        if isinstance(value, dict):  # a stored image: its path in storage
            return value["path"]
        return "" if value is None else str(value)

    head, options = f"::: {kind_name}", shape.options
    for alias, (kind, preset) in ALIASES.items():
        if kind == kind_name and all(values.get(k) == v for k, v in preset.items()):
            head, options = f"::: {alias}", [o for o in shape.options if o not in preset]
    if shape.argument:
        head += f" {single_line(text(shape.argument))}".rstrip()
    lines = [head]
    defaults = option_defaults(kind_name)
    lines += [
        f"{name}: {single_line(text(name))}"
        for name in options
        if text(name) and text(name) != defaults.get(name)
    ]
    if shape.items:
        lines += [item_line(row) for row in values.get(shape.items) or []]
    if shape.body and text(shape.body):
        if shape.items:
            lines.append("")
        lines += write_body(text(shape.body), shape)
    lines.append(":::")
    return "\n".join(lines)


def short_markup(kind_name: str, data: dict) -> str | None:
    """The plain-Markdown form of a block, when its kind has one."""
    if kind_name == "heading":
        return f"## {data.get('emoji', '')} {data['title']}".replace("##  ", "## ")
    if kind_name == "markdown":
        return data["body"]
    if kind_name == "link_list":
        return "\n".join(item_line(item) for item in data["items"])
    if kind_name == "divider":
        return "---"
    if kind_name == "image" and data.get("image"):
        caption = f' "{data["caption"]}"' if data.get("caption") else ""
        return f"![{data['alt']}]({data['image']['path']}{caption})"
    return None


def block_markup(kind_name: str, data: dict, *, after_text: bool) -> str:
    """The shortest markup that reads back as exactly this block."""
    short = short_markup(kind_name, data)
    if short is not None and not (after_text and kind_name == "markdown"):
        try:
            again = Reader(folder=None).blocks(short.splitlines())
        except MarkupError:
            again = []
        if [(b.kind, b.data) for b in again] == [(kind_name, data)]:
            return short
    return fenced_markup(kind_name, data)


def export_markdown(issue: Issue) -> str:
    """``issue`` in the import syntax: front matter, title, then each block in order."""
    blocks = issue.blocks.select_related("library_block").order_by("position", "id")
    return issue_markdown(issue, list(blocks))


def issue_markdown(issue: Issue, blocks: list[Block]) -> str:
    """The Markdown of ``issue`` with ``blocks`` (saved or not), in their order."""
    parts = []
    if (issue.subject and issue.subject != issue.title) or issue.preheader:
        front = ["---"]
        if issue.subject and issue.subject != issue.title:
            front.append(f"subject: {single_line(issue.subject)}")
        if issue.preheader:
            front.append(f"preheader: {single_line(issue.preheader)}")
        parts.append("\n".join([*front, "---"]))
    parts.append(f"# {single_line(issue.title)}")
    previous = None
    for block in blocks:
        if block.library_block_id:
            parts.append(f"::: {LIBRARY} {single_line(block.library_block.name)}\n:::")
        elif block.kind in KINDS:
            parts.append(block_markup(block.kind, block.data, after_text=previous == "markdown"))
        previous = block.kind
    return "\n\n".join(parts) + "\n"
