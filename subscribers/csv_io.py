"""Subscriber lists in and out as CSV: safe to import from anywhere, safe to open in a sheet.

Import is header-aware (``email`` required, ``name`` and ``tags`` optional, any order, any
case; tags separated by semicolons and created as needed),
accepts a UTF-8 BOM and comma, semicolon or tab delimiters, reports every rejected line
with its reason, and never resurrects an address that unsubscribed, bounced, complained
or erased its data. Accepted rows go in with bulk inserts, one transaction per chunk, so a
100,000-line file takes seconds and a failure loses at most the chunk in flight.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .models import ConsentEvent, ErasedAddress, Source, Subscriber, Subscription, Tag
from .segments import tags_named
from .services import MAX_NAME_LENGTH, email_hash, normalize_email

CHUNK_SIZE = 2000
DELIMITERS = ",;\t"
TAG_SEPARATOR = ";"
MAX_TAG_LENGTH = Tag._meta.get_field("name").max_length
# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_FIELDS = ["email", "name", "status", "source", "newsletters", "tags", "created_at"]


class ImportFileError(Exception):
    """The file as a whole cannot be imported (no header, no email column, not text)."""


@dataclass
class Rejection:
    line: int
    email: str
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    added_to_newsletter: int = 0
    rejected: list = field(default_factory=list)

    @property
    def rejected_count(self):
        return len(self.rejected)

    def summary(self):
        return (
            f"{self.imported} imported, {self.added_to_newsletter} existing subscribers "
            f"added to the newsletter, {self.rejected_count} rejected"
        )


def decode(data):
    """Bytes of an uploaded file as text; a BOM is dropped, Latin-1 is a last resort."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("The file is not text.")  # pragma: no cover (latin-1 decodes all)


def read_rows(text):
    """``(line_number, {"email": ..., "name": ..., "tags": ...})`` for each data row."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ImportFileError("The file is empty or has no header row.")
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [cell.strip().lower().removeprefix("\ufeff") for cell in next(reader)]
    if "email" not in header:
        raise ImportFileError(
            f"The header row needs an 'email' column; it has: {', '.join(header) or 'nothing'}."
        )
    email_at = header.index("email")
    name_at, tags_at = (header.index(key) if key in header else None for key in ("name", "tags"))

    def cell(row, at):
        return row[at] if at is not None and at < len(row) else ""

    while True:
        line = reader.line_num + 1  # where the record starts; a quoted cell may span lines
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFileError(f"Line {line} is not valid CSV ({error}).") from None
        if not any(cell.strip() for cell in row):
            continue
        yield (
            line,
            {"email": cell(row, email_at), "name": cell(row, name_at), "tags": cell(row, tags_at)},
        )


def import_csv(data, newsletter, *, source=Source.IMPORT, chunk_size=CHUNK_SIZE):
    """Import a CSV file (bytes or text) into ``newsletter``; returns an ImportReport."""
    report = ImportReport()
    seen = set()
    chunk = []
    for line, row in read_rows(decode(data)):
        checked = _check_row(line, row, seen, report)
        if checked:
            chunk.append(checked)
        if len(chunk) >= chunk_size:
            _import_chunk(chunk, newsletter, source, report)
            chunk = []
    if chunk:
        _import_chunk(chunk, newsletter, source, report)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _check_row(line, row, seen, report):
    raw = row["email"].strip()
    try:
        email = normalize_email(raw)
    except ValidationError as error:
        report.rejected.append(Rejection(line, raw[:254], f"invalid address: {error.messages[0]}"))
        return None
    name = row["name"].strip()
    if len(name) > MAX_NAME_LENGTH:
        report.rejected.append(
            Rejection(line, email, f"name longer than {MAX_NAME_LENGTH} characters")
        )
        return None
    if any(ch in name for ch in "\x00\r\n"):
        report.rejected.append(Rejection(line, email, "name contains control characters"))
        return None
    tags = [tag.strip() for tag in row["tags"].split(TAG_SEPARATOR) if tag.strip()]
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            report.rejected.append(
                Rejection(line, email, f"tag longer than {MAX_TAG_LENGTH} characters")
            )
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in tag):
            report.rejected.append(Rejection(line, email, "tag contains control characters"))
            return None
    key = email.lower()
    if key in seen:
        report.rejected.append(Rejection(line, email, "duplicate: already earlier in this file"))
        return None
    seen.add(key)
    return line, email, name, tags


def _import_chunk(chunk, newsletter, source, report):
    keys = [email.lower() for _, email, _, _ in chunk]
    existing = {
        s.email_lower: s
        for s in Subscriber.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=keys
        )
    }
    erased = set(
        ErasedAddress.objects.filter(
            email_hash__in=[email_hash(email) for _, email, _, _ in chunk]
        ).values_list("email_hash", flat=True)
    )
    subscribed = set(
        Subscription.objects.filter(
            newsletter=newsletter, subscriber__in=list(existing.values())
        ).values_list("subscriber_id", flat=True)
    )
    new, joining = [], []
    for line, email, name, _ in chunk:
        subscriber = existing.get(email.lower())
        if subscriber is None:
            if email_hash(email) in erased:
                report.rejected.append(
                    Rejection(line, email, "previously erased at the owner's request")
                )
            else:
                new.append(Subscriber(email=email, name=name, source=source))
        elif subscriber.status == Subscriber.Status.PENDING:
            report.rejected.append(
                Rejection(line, email, "pending: waiting for the person's own confirmation")
            )
        elif subscriber.status != Subscriber.Status.ACTIVE:
            report.rejected.append(
                Rejection(line, email, f"previously {subscriber.get_status_display().lower()}")
            )
        elif subscriber.pk in subscribed:
            report.rejected.append(Rejection(line, email, "duplicate: already subscribed"))
        else:
            joining.append(subscriber)
    now = timezone.now()
    with transaction.atomic():
        for subscriber in new:
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.confirmed_at = now
        created = Subscriber.objects.bulk_create(new, batch_size=1000)
        if created and created[0].pk is None:  # a backend without RETURNING
            created = list(
                Subscriber.objects.annotate(email_lower=Lower("email")).filter(
                    email_lower__in=[s.email.lower() for s in new]
                )
            )
        people = created + joining
        per_person = [
            (Subscription, {"status": Subscription.Status.ACTIVE, "confirmed_at": now}),
            (ConsentEvent, {"action": ConsentEvent.Action.IMPORT, "source": source}),
        ]
        for model, values in per_person:
            model.objects.bulk_create(
                [model(subscriber=s, newsletter=newsletter, **values) for s in people],
                batch_size=1000,
            )
        _tag_people(people, {email.lower(): tags for _, email, _, tags in chunk if tags})
    report.imported += len(created)
    report.added_to_newsletter += len(joining)


def _tag_people(people, tags_by_email):
    """Put each person's tags of the file on them, creating the tags not known yet."""
    if not tags_by_email:
        return
    tags = tags_named(name for names in tags_by_email.values() for name in names)
    Subscriber.tags.through.objects.bulk_create(
        [
            Subscriber.tags.through(subscriber_id=person.pk, tag_id=tags[name.casefold()].pk)
            for person in people
            for name in tags_by_email.get(person.email.lower(), ())
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


# Export ----------------------------------------------------------------------------------


def spreadsheet_safe(value):
    """A cell value no spreadsheet will run as a formula (OWASP: prefix with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_rows(subscribers):
    """The header and one row per subscriber, every cell spreadsheet-safe."""
    yield EXPORT_FIELDS
    subscribers = subscribers.prefetch_related("tags", "subscriptions__newsletter")
    for s in subscribers.iterator(chunk_size=2000):
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
