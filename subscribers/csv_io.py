"""Subscriber lists in and out as CSV: safe to import from anywhere, safe to open in a sheet.

Reading is header-aware (``email`` required, ``name`` and ``tags`` optional, any order, any
case; tags separated by semicolons), accepts a UTF-8 BOM and comma, semicolon or tab
delimiters, and streams: a line is read, checked and let go. ``subscribers.imports`` puts
the lines that pass into the database; export writes cells no spreadsheet runs as formulas.
"""

import csv
import re
import threading
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError

from superfast.validators import has_control_characters

from .models import Subscription, Tag
from .services import MAX_NAME_LENGTH, normalize_email

DELIMITERS = ",;\t"
TAG_SEPARATOR = ";"
MAX_TAG_LENGTH = Tag._meta.get_field("name").max_length
# A cell starting with "=", "+", "-", "@", tab or CR is a formula to spreadsheet programs
# (CSV injection). A spreadsheet may also start a cell inside ours: its import dialog splits
# on ";", "," or tab (tags are ";"-separated too), and a line break starts a row. Each place
# where a piece (after any spaces) would start a formula gets a quote; tab and CR count only
# at the very beginning, since anywhere else they are separators themselves.
FORMULA_START = re.compile(r"^(?=[ ]*[=+\-@\t\r])|(?<=[;,\t\r\n])(?=[ ]*[=+\-@])")
EXPORT_FIELDS = ["email", "name", "status", "source", "newsletters", "tags", "created_at"]
# Rows read from the database at a time: memory stays flat however long the list.
EXPORT_CHUNK_SIZE = 2000


class ImportFileError(Exception):
    """The file as a whole cannot be imported (no header, no email column, not CSV)."""


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """``(line_number, {"email", "name", "tags"})`` for each data row, read as it goes.

    ``lines`` is any iterable of text lines (an open text file streams): the header row
    (the first line) decides the delimiter and where each column is. A line the csv module
    cannot read (a cell past its field limit, which keeps a runaway quoted cell from
    filling memory) comes with a ``"problem"`` instead, and reading goes on after it.
    """
    lines = iter(lines)
    first_line = next(lines, "").removeprefix("\ufeff")
    if not first_line.strip():
        raise ImportFileError("The file is empty or has no header row.")
    delimiter = max(DELIMITERS, key=first_line.count)
    header = [
        cell.strip().lower().removeprefix("\ufeff") for cell in header_cells(first_line, delimiter)
    ]
    if "email" not in header:
        named = ", ".join(shortened(cell) for cell in header) or "nothing"
        raise ImportFileError(f"The header row needs an 'email' column; it has: {named}.")
    email_at = header.index("email")
    name_at, tags_at = (header.index(key) if key in header else None for key in ("name", "tags"))
    reader = csv.reader(lines, delimiter=delimiter)

    def cell(row, at):
        return row[at] if at is not None and at < len(row) else ""

    while True:
        line = reader.line_num + 2  # where the record starts; a quoted cell may span lines
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader drops the rest of the line and goes on
            yield line, {"email": "", "name": "", "tags": "", "problem": unreadable(error)}
            continue
        if not any(cell.strip() for cell in row):
            continue
        yield (
            line,
            {"email": cell(row, email_at), "name": cell(row, name_at), "tags": cell(row, tags_at)},
        )


_field_limit = threading.Lock()


def header_cells(first_line: str, delimiter: str) -> list[str]:
    """The header row's cells, however long: the line is in memory already, so the csv
    module's field limit (process-wide, raised here for this one line) guards nothing."""
    with _field_limit:
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, len(first_line)))
        try:
            return next(csv.reader([first_line], delimiter=delimiter), [])
        finally:
            csv.field_size_limit(limit)


def unreadable(error: csv.Error) -> str:
    """Why the csv module refused a line, for the person who made the file."""
    if str(error).startswith("field larger than field limit"):
        return f"a cell longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV ({error})"


def shortened(cell: str, length: int = 40) -> str:
    return cell if len(cell) <= length else f"{cell[:length]}… ({len(cell):,} characters)"


def check_row(row: dict) -> tuple[str, str, list[str]] | str:
    """``(email, name, tags)`` of a line fit to import, or the reason it is not.

    What can be judged from the line alone; the database judges the rest (repeats,
    people who left or were erased) for a whole batch at once.
    """
    if "problem" in row:
        return row["problem"]
    try:
        email = normalize_email(row["email"].strip())
    except ValidationError as error:
        return f"invalid address: {error.messages[0]}"
    name = row["name"].strip()
    if len(name) > MAX_NAME_LENGTH:
        return f"name longer than {MAX_NAME_LENGTH} characters"
    if has_control_characters(name):
        return "name contains control characters"
    tags = [tag.strip() for tag in row["tags"].split(TAG_SEPARATOR) if tag.strip()]
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            return f"tag longer than {MAX_TAG_LENGTH} characters"
        if has_control_characters(tag):
            return "tag contains control characters"
    return email, name, tags


# Export ----------------------------------------------------------------------------------


def spreadsheet_safe(value: object) -> str:
    """A cell value no spreadsheet will run as a formula, however it splits the cell: a
    quote before every piece that would start one (OWASP's advice, applied per piece)."""
    text = "" if value is None else str(value)
    return FORMULA_START.sub("'", text)


def export_rows(subscribers):
    """The header and one row per subscriber, every cell spreadsheet-safe."""
    yield EXPORT_FIELDS
    subscribers = subscribers.prefetch_related("tags", "subscriptions__newsletter")
    for s in subscribers.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        newsletters = sorted(
            sub.newsletter.slug
            for sub in s.subscriptions.all()
            if sub.status == Subscription.Status.ACTIVE
        )
        row = [
            s.email,
            s.name,
            s.status,
            s.source,
            " ".join(newsletters),
            TAG_SEPARATOR.join(tag.name for tag in s.tags.all()),
            s.created_at.isoformat(),
        ]
        yield [spreadsheet_safe(cell) for cell in row]


class _Echo:
    def write(self, value):
        return value


def export_csv_lines(subscribers):
    """CSV text line by line, for streaming responses and stdout."""
    writer = csv.writer(_Echo())
    for row in export_rows(subscribers):
        yield writer.writerow(row)


def rejection_csv_lines(job):
    """An import's rejected lines as CSV text, streamed from the database."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["line", "email", "reason"])
    for rejection in job.rejections.order_by("line").iterator(chunk_size=5000):
        yield writer.writerow([rejection.line, spreadsheet_safe(rejection.email), rejection.reason])
