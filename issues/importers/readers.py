"""Each platform's subscriber export, read into neutral ``ImportedReader`` records.

One small parser per platform, each a generator over an open text file (Mailchimp: its
subscribed, unsubscribed and cleaned files), so an export of any size streams. They only
translate: which column holds the address, what the platform's statuses mean, which dates
and labels to keep. Checking addresses, matching readers already here and writing rows is
``subscribers.moving_in.import_readers``, the same for every platform. Where each format
comes from: tests/fixtures/importers/READERS.md.

Values are taken as the export holds them: a cell that a spreadsheet would run as a formula
stays plain text here, as in the CSV import (exports escape it, ``csv_io.spreadsheet_safe``).
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import PurePosixPath
from typing import TextIO

from subscribers.imports import text_stream
from subscribers.moving_in import (
    ACTIVE,
    BOUNCED,
    UNSUBSCRIBED,
    ImportedReader,
    ReadersReport,
    import_readers,
)

from .exports import Export

__all__ = [
    "READER_FILES",
    "ImportedReader",
    "ReadersReport",
    "beehiiv_subscribers",
    "buttondown_subscribers",
    "export_readers",
    "ghost_members",
    "import_readers",
    "mailchimp_audience",
    "substack_readers",
]


def rows(file: TextIO) -> Iterator[dict[str, str]]:
    """The CSV's data rows as ``{lower-cased header: cell}``; a row the csv module cannot
    read (a cell past its field limit) comes as ``{"problem": why}`` and reading goes on."""
    reader = csv.reader(file)
    header = [cell.strip().lower().removeprefix("\ufeff") for cell in next(reader, [])]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield {"problem": f"not valid CSV ({error})"}
            continue
        if any(cell.strip() for cell in row):
            yield dict(zip(header, row, strict=False))


def unreadable(row: dict[str, str]) -> ImportedReader | None:
    return ImportedReader(email="", skip=row["problem"]) if "problem" in row else None


def when(value: str | None) -> datetime | None:
    """A date as the exports write them: ISO 8601 (``2021-03-04T12:34:56.789Z``), or
    ``2023-03-24 10:23:10 UTC``, or Mailchimp's ``2018-02-05 19:28:23`` (UTC). Unreadable
    or empty: None (the import then says the date was not in the export)."""
    text = (value or "").strip().removesuffix(" UTC").removesuffix(" GMT")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def yes(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "yes", "1", "t"}


def first(row: dict[str, str], *names: str) -> str:
    """The first of these columns the export has, stripped ("" when none)."""
    return next((row[name].strip() for name in names if name in row), "")


def split(cell: str, separator: str = ",") -> tuple[str, ...]:
    return tuple(piece.strip() for piece in cell.split(separator) if piece.strip())


def paid(plan: str) -> tuple[str, ...]:
    """A paid plan, kept as a tag (Superfast has no paid subscriptions of its own)."""
    return (f"paid: {plan.strip().lower()}",) if plan.strip() else ()


# Substack ------------------------------------------------------------------------------


def substack_readers(file: TextIO) -> Iterator[ImportedReader]:
    """``email_list.<publication>.csv`` of a Substack export.

    ``email_disabled`` true: the reader turned emails off (unsubscribed). ``plan`` with
    ``active_subscription`` true: a paying reader, kept as the tag ``paid: <plan>``.
    Addresses at ``deletion-request.substack.com`` stand for readers who asked Substack to
    delete them: never imported.
    """
    for row in rows(file):
        if problem := unreadable(row):
            yield problem
            continue
        email = first(row, "email")
        if email.lower().endswith("@deletion-request.substack.com"):
            yield ImportedReader(email=email, skip="asked Substack to delete their data")
            continue
        created = when(row.get("created_at"))
        disabled = yes(row.get("email_disabled"))
        plan = first(row, "plan") if yes(row.get("active_subscription")) else ""
        yield ImportedReader(
            email=email,
            name=first(row, "name"),
            status=UNSUBSCRIBED if disabled else ACTIVE,
            subscribed_at=created,
            tags=paid(plan),
            detail="emails disabled at Substack" if disabled else "",
        )


# Ghost ---------------------------------------------------------------------------------


def ghost_members(file: TextIO) -> Iterator[ImportedReader]:
    """Ghost's members CSV (Members → Export): ``subscribed_to_emails`` false is
    unsubscribed; ``labels`` (comma-separated) become tags; a complimentary plan or a
    Stripe customer is a paying member, tagged ``paid: complimentary`` / ``paid: stripe``.
    Members Ghost shows as deleted (``deleted_at``) are left out."""
    for row in rows(file):
        if problem := unreadable(row):
            yield problem
            continue
        email = first(row, "email")
        if first(row, "deleted_at"):
            yield ImportedReader(email=email, skip="deleted at Ghost")
            continue
        subscribed = yes(row.get("subscribed_to_emails"))
        plans = (
            paid("complimentary")
            if yes(row.get("complimentary_plan"))
            else paid("stripe")
            if first(row, "stripe_customer_id")
            else ()
        )
        yield ImportedReader(
            email=email,
            name=first(row, "name"),
            status=ACTIVE if subscribed else UNSUBSCRIBED,
            subscribed_at=when(row.get("created_at")),
            tags=split(first(row, "labels")) + plans,
            detail="" if subscribed else "not subscribed to emails at Ghost",
        )


# Mailchimp -----------------------------------------------------------------------------


def mailchimp_audience(
    subscribed: TextIO | None = None,
    unsubscribed: TextIO | None = None,
    cleaned: TextIO | None = None,
) -> Iterator[ImportedReader]:
    """An audience export: its three files (``subscribed_members_export_….csv``,
    ``unsubscribed_…``, ``cleaned_…``). Cleaned addresses bounced hard (or kept
    bouncing): suppressed here as bounced. The subscription date is ``CONFIRM_TIME``
    (double opt-in) else ``OPTIN_TIME``; ``TAGS`` holds quoted, comma-separated tags."""
    files = ((subscribed, ACTIVE), (unsubscribed, UNSUBSCRIBED), (cleaned, BOUNCED))
    for file, status in files:
        if file is None:
            continue
        for row in rows(file):
            if problem := unreadable(row):
                yield problem
                continue
            name = " ".join(
                part for part in (first(row, "first name"), first(row, "last name")) if part
            )
            left = when(row.get("unsub_time")) if status == UNSUBSCRIBED else None
            clean = when(row.get("clean_time")) if status == BOUNCED else None
            detail = ""
            if clean:
                detail = f"cleaned at Mailchimp {clean:%Y-%m-%d} (bounced)"
            elif status == BOUNCED:
                detail = "cleaned at Mailchimp (bounced)"
            yield ImportedReader(
                email=first(row, "email address", "email"),
                name=name,
                status=status,
                subscribed_at=when(row.get("confirm_time")) or when(row.get("optin_time")),
                unsubscribed_at=left,
                tags=mailchimp_tags(first(row, "tags")),
                detail=detail,
            )


def mailchimp_tags(cell: str) -> tuple[str, ...]:
    """``"Editors","Early readers"`` → ("Editors", "Early readers")."""
    if not cell:
        return ()
    return tuple(tag.strip() for tag in next(csv.reader([cell]), []) if tag.strip())


# beehiiv -------------------------------------------------------------------------------

BEEHIIV_STATUS = {"active": ACTIVE, "inactive": UNSUBSCRIBED, "invalid": BOUNCED}


def beehiiv_subscribers(file: TextIO) -> Iterator[ImportedReader]:
    """beehiiv's subscriber export: ``status`` active, inactive (unsubscribed) or invalid
    (the address does not receive mail: bounced); pending and validating readers never
    confirmed there and are left out. A premium ``tier`` is kept as ``paid: premium``."""
    for row in rows(file):
        if problem := unreadable(row):
            yield problem
            continue
        email = first(row, "email")
        raw = first(row, "status").lower()
        status = BEEHIIV_STATUS.get(raw)
        if status is None:
            yield ImportedReader(email=email, skip=f"{raw or 'no'} status at beehiiv")
            continue
        name = " ".join(
            part for part in (first(row, "first name"), first(row, "last name")) if part
        )
        tier = first(row, "tier").lower()
        yield ImportedReader(
            email=email,
            name=name,
            status=status,
            subscribed_at=when(row.get("created_at")),
            unsubscribed_at=when(row.get("unsubscribed_at")) if status == UNSUBSCRIBED else None,
            tags=paid(tier) if tier and tier != "free" else (),
            detail="" if status == ACTIVE else f"{raw} at beehiiv",
        )


# Buttondown ----------------------------------------------------------------------------

BUTTONDOWN_ACTIVE = {
    "regular",
    "premium",
    "trialed",
    "unpaid",
    "gifted",
    "churning",
    "paused",
    "past_due",
}
BUTTONDOWN_PAID = {"premium", "trialed", "gifted", "churning", "paused", "past_due"}
BUTTONDOWN_STATUS = {
    "unsubscribed": UNSUBSCRIBED,
    "removed": UNSUBSCRIBED,
    "undeliverable": BOUNCED,
    "complained": UNSUBSCRIBED,
}


def buttondown_subscribers(file: TextIO) -> Iterator[ImportedReader]:
    """Buttondown's subscriber export. Its subscriber type says the status: regular and the
    paying types are active (paying ones tagged ``paid: <type>``); unsubscribed, removed
    and complained are unsubscribed; undeliverable bounced; unactivated (never confirmed)
    and spammy readers are left out. Tags come as a JSON list or comma-separated."""
    for row in rows(file):
        if problem := unreadable(row):
            yield problem
            continue
        email = first(row, "email", "email_address")
        kind = first(row, "subscriber_type", "type").lower()
        if kind in BUTTONDOWN_ACTIVE:
            status = ACTIVE
        elif kind in BUTTONDOWN_STATUS:
            status = BUTTONDOWN_STATUS[kind]
        else:
            yield ImportedReader(email=email, skip=f"{kind or 'no'} type at Buttondown")
            continue
        plan = paid(kind) if kind in BUTTONDOWN_PAID else ()
        yield ImportedReader(
            email=email,
            name=first(row, "name"),
            status=status,
            subscribed_at=when(first(row, "creation_date", "created_at", "date")),
            unsubscribed_at=when(first(row, "unsubscription_date"))
            if status == UNSUBSCRIBED
            else None,
            tags=buttondown_tags(first(row, "tags")) + plan,
            detail="" if kind == "regular" else f"{kind} at Buttondown",
        )


def buttondown_tags(cell: str) -> tuple[str, ...]:
    if cell.startswith("["):
        try:
            tags = json.loads(cell)
        except ValueError:
            tags = None
        if isinstance(tags, list):
            return tuple(str(tag).strip() for tag in tags if str(tag).strip())
    return split(cell)


# Finding the readers in an export ------------------------------------------------------

# Which files of an export hold its readers, by name (a folder around them does not matter).
READER_FILES: dict[str, tuple[str, ...]] = {
    "substack": ("email_list*.csv",),
    "ghost": ("*member*.csv",),
    "mailchimp": ("subscribed_*.csv", "unsubscribed_*.csv", "cleaned_*.csv"),
    "beehiiv": ("*.csv",),
    "buttondown": ("*subscriber*.csv",),
}

ONE_FILE_READERS: dict[str, Callable[[TextIO], Iterator[ImportedReader]]] = {
    "substack": substack_readers,
    "ghost": ghost_members,
    "beehiiv": beehiiv_subscribers,
    "buttondown": buttondown_subscribers,
}


def reader_files(platform: str, export: Export) -> dict[str, list[str]]:
    """The export's reader files, by the pattern of ``READER_FILES`` each matched."""
    found: dict[str, list[str]] = {pattern: [] for pattern in READER_FILES[platform]}
    for name in sorted(export.names()):
        base = PurePosixPath(name).name.lower()
        for pattern in found:
            if fnmatch(base, pattern):
                found[pattern].append(name)
                break
    return found


def export_readers(platform: str, export: Export) -> Iterator[ImportedReader]:
    """Every reader in ``export`` (nothing when it holds none: a posts-only export)."""

    def opened(name: str) -> TextIO:
        return text_stream(io.BytesIO(export.read(name)))

    found = reader_files(platform, export)
    if platform == "mailchimp":
        subscribed, unsubscribed, cleaned = (found[p] for p in READER_FILES["mailchimp"])
        for name in subscribed:
            yield from mailchimp_audience(subscribed=opened(name))
        for name in unsubscribed:
            yield from mailchimp_audience(unsubscribed=opened(name))
        for name in cleaned:
            yield from mailchimp_audience(cleaned=opened(name))
        return
    for names in found.values():
        for name in names:
            yield from ONE_FILE_READERS[platform](opened(name))
