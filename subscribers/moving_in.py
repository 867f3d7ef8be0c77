"""Readers moving in from another platform, with their status, dates and consent history.

A platform's subscriber export (Substack, Ghost, Mailchimp, beehiiv, Buttondown: parsed by
``issues.importers.readers``) arrives here as a stream of neutral ``ImportedReader``
records. They go in through the CSV import's machinery (``subscribers.imports``): checked
one at a time in Python like a CSV line (address spelling and IDNA, names, tags; a cell
that looks like a spreadsheet formula stays text, as there), staged a batch at a time,
judged against the database in a few set-based statements, inserted with ``INSERT …
SELECT``. So 100,000 readers take seconds, and memory stays flat.

What differs from a CSV import: a reader keeps the status they had (active, unsubscribed,
or bounced: suppressed as a hard bounce) and their dates, their consent record names the
platform and the original date, and nobody is mailed: no confirmation (they confirmed
there), no welcome (they were welcomed there: ``Subscription.welcome_due`` is off).
A reader already here, matched by address, is left exactly as they are and reported as
"already here", so running an import twice imports nothing twice.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from superfast.estimates import refresh_statistics

from .csv_io import TAG_SEPARATOR, check_row
from .imports import STAGED_COLUMNS, Judgement, stage
from .models import (
    ConsentEvent,
    ImportJob,
    ImportRejection,
    ImportRow,
    Source,
    Subscriber,
    Subscription,
    SuppressionEvent,
)
from .segments import tags_named
from .services.addresses import normalized_email_hash

ACTIVE, UNSUBSCRIBED, BOUNCED = "active", "unsubscribed", "bounced"
STATUSES = (ACTIVE, UNSUBSCRIBED, BOUNCED)
ALREADY_HERE = "already here"
DETAIL_LENGTH = ConsentEvent._meta.get_field("detail").max_length
READER_COLUMNS = (*STAGED_COLUMNS, "status", "subscribed_at", "unsubscribed_at", "detail")


@dataclass(frozen=True)
class ImportedReader:
    """One reader as another platform's export describes them, in no platform's terms.

    ``status`` is ``active``, ``unsubscribed`` or ``bounced``; dates are aware datetimes
    (None when the export has none). ``detail`` adds what the platform said about the
    reader's consent (e.g. "cleaned 2023-05-12") to the consent record. ``skip`` is why the
    export itself rules the reader out (never confirmed there, a deletion request): such a
    reader is only listed in the report.
    """

    email: str
    name: str = ""
    status: str = ACTIVE
    subscribed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    tags: tuple[str, ...] = ()
    detail: str = ""
    skip: str = ""


@dataclass(frozen=True)
class SkippedReader:
    position: int  # the reader's place in the export, from 1
    email: str
    reason: str


@dataclass
class ReadersReport:
    """What an import of readers did (or, dry run, would do)."""

    platform: str
    dry_run: bool = False
    read: int = 0
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    added_to_newsletter: int = 0  # people already here for another newsletter, now on this
    already_here: int = 0
    skipped: list[SkippedReader] = field(default_factory=list)

    @property
    def imported_total(self) -> int:
        return sum(self.imported.values())

    def summary(self) -> str:
        would = "would be " if self.dry_run else ""
        by_status = ", ".join(f"{n} {status}" for status, n in self.imported.items())
        return (
            f"Readers from {self.platform}: {self.read} read; {self.imported_total} {would}"
            f"imported ({by_status}); {self.added_to_newsletter} {would}added to the "
            f"newsletter from other newsletters; {self.already_here} already here; "
            f"{len(self.skipped)} skipped."
        )


def import_readers(
    newsletter,
    readers: Iterable[ImportedReader],
    *,
    platform: str,
    dry_run: bool = False,
    batch_rows: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ReadersReport:
    """Bring ``readers`` of ``platform`` onto ``newsletter``, batch by batch; with
    ``dry_run`` everything is judged and counted, then rolled back. ``progress`` hears how
    many readers were read after each committed batch."""
    batch_rows = batch_rows or settings.SUBSCRIBER_IMPORT_BATCH_ROWS
    report = ReadersReport(platform=platform, dry_run=dry_run)
    numbered = enumerate(readers, start=1)
    # A real import commits batch by batch (a crash loses at most the batch in flight, and
    # running it again picks up the rest as "already here"); a dry run is one transaction,
    # rolled back at the end.
    with transaction.atomic() if dry_run else nullcontext():
        now = timezone.now()
        job = ImportJob.objects.create(
            newsletter=newsletter,
            file_name=f"{platform} export",
            status=ImportJob.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
        )
        try:
            for batch in iter(lambda: list(islice(numbered, batch_rows)), []):
                with transaction.atomic():
                    import_batch(job, batch, platform, report)
                if progress:
                    progress(batch[-1][0])
            job.refresh_from_db()
            report.read = job.lines
            collect_rejections(job, report)
        except Exception as error:
            if not dry_run:  # the batches before it stay imported
                ImportJob.objects.filter(pk=job.pk).update(
                    status=ImportJob.Status.FAILED,
                    error=f"The import stopped on an unexpected error: {error}",
                    finished_at=timezone.now(),
                )
            raise
        finally:
            ImportRow.objects.filter(job=job).delete()
        if dry_run:
            transaction.set_rollback(True)
            return report
    # Before the job says it is done, as a CSV import does (``imports.run_import``).
    refresh_statistics(Subscriber, Subscription, ConsentEvent, vacuum=True)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now()
    )
    return report


def import_batch(
    job: ImportJob,
    batch: list[tuple[int, ImportedReader]],
    platform: str,
    report: ReadersReport,
) -> None:
    """Check, stage, judge and import one batch of readers."""
    now = timezone.now()
    staged, rejected, tag_names = [], [], set()
    for position, reader in batch:
        checked = checked_reader(reader)
        if isinstance(checked, str):
            rejected.append(
                ImportRejection(
                    job=job, line=position, email=reader.email.strip()[:254], reason=checked
                )
            )
            continue
        email, name, tags = checked
        tag_names.update(tags)
        staged.append(
            (
                job.pk,
                position,
                email,
                email.lower(),
                normalized_email_hash(email),
                name,
                TAG_SEPARATOR.join(tags),
                reader.status,
                reader.subscribed_at or now,
                reader.unsubscribed_at,
                consent_detail(platform, reader),
            )
        )
    first, last = batch[0][0], batch[-1][0]
    ImportRejection.objects.bulk_create(rejected, batch_size=5000)
    stage(staged, READER_COLUMNS)
    judged = ReaderJudgement(job, first, last)
    judged.reject_what_cannot_go_in()
    for status, count in judged.passing_by_status().items():
        report.imported[status] += count
    imported, joined = judged.import_the_rest(tags_named(sorted(tag_names)) if tag_names else {})
    report.imported[ACTIVE] -= joined  # active here already, for another newsletter
    report.added_to_newsletter += joined
    ImportJob.objects.filter(pk=job.pk).update(
        imported=F("imported") + imported,
        added_to_newsletter=F("added_to_newsletter") + joined,
        rejected=F("rejected") + len(rejected) + judged.rejected,
        lines=F("lines") + len(batch),
        last_line=last,
        heartbeat_at=timezone.now(),
    )


def checked_reader(reader: ImportedReader) -> tuple[str, str, list[str]] | str:
    """``(email, name, tags)`` fit to import, or why not: the CSV import's checks."""
    if reader.skip:
        return reader.skip
    if reader.status not in STATUSES:
        return f"unknown status: {reader.status[:40]}"
    return check_row(
        {"email": reader.email, "name": reader.name, "tags": TAG_SEPARATOR.join(reader.tags)}
    )


def consent_detail(platform: str, reader: ImportedReader) -> str:
    """The consent record's words: the platform, and the dates the reader had there."""
    parts = [f"Imported from {platform}"]
    parts.append(
        f"subscribed there {day(reader.subscribed_at)}"
        if reader.subscribed_at
        else "subscription date not in the export"
    )
    if reader.unsubscribed_at:
        parts.append(f"unsubscribed there {day(reader.unsubscribed_at)}")
    if reader.detail:
        parts.append(reader.detail)
    return "; ".join(parts)[:DETAIL_LENGTH]


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def collect_rejections(job: ImportJob, report: ReadersReport) -> None:
    """Readers left out: counted when already here, listed otherwise."""
    rejections: Iterator[ImportRejection] = job.rejections.order_by("line").iterator(
        chunk_size=5000
    )
    for rejection in rejections:
        if rejection.reason == ALREADY_HERE:
            report.already_here += 1
        else:
            report.skipped.append(SkippedReader(rejection.line, rejection.email, rejection.reason))


class ReaderJudgement(Judgement):
    """The CSV import's set-based SQL, with the rules of readers moving in."""

    REPEATED_LINE = "duplicate: already earlier in this export"

    def reject_known_subscribers(self) -> None:
        """Someone already here stays exactly as they are. Only a reader active on both
        sides, here for another newsletter, joins this one."""
        r = self.rows
        status = self.known_status()
        self.execute(
            f"UPDATE {r} SET reason = CASE "
            f"WHEN EXISTS (SELECT 1 FROM {Subscription._meta.db_table} m WHERE m.subscriber_id = "
            f"{r}.subscriber_id AND m.newsletter_id = %s) THEN %s "
            f"WHEN {r}.status <> 'active' THEN %s "
            f"WHEN {status} = 'pending' THEN %s "
            f"WHEN {status} <> 'active' THEN %s || {status} ELSE '' END "
            f"WHERE {self.batch} AND reason = '' AND subscriber_id IS NOT NULL",
            [
                self.job.newsletter_id,
                ALREADY_HERE,
                "already here for another newsletter; not added to this one",
                "pending: waiting for the person's own confirmation",
                "previously ",
            ],
        )

    def passing_by_status(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status, COUNT(*) FROM {self.rows} WHERE {self.batch} "
                "AND reason = '' GROUP BY status"
            )
            return dict(cursor.fetchall())

    def import_the_rest(self, tags: dict) -> tuple[int, int]:
        """New readers in with their status and dates, everyone who passed onto the
        newsletter with a consent record naming the platform; (imported, joined)."""
        r = self.rows
        joined = self.count_known_who_passed()
        imported = self.insert(
            Subscriber,
            {
                "email": "email",
                "name": "name",
                "status": "status",
                "created_at": "subscribed_at",
                "confirmed_at": "subscribed_at",
                "unsubscribed_at": "unsubscribed_at",
            },
            {"source": Source.IMPORT},
            "subscriber_id IS NULL",
            link_back=True,
        )
        self.link_known_subscribers()
        values = {"newsletter_id": self.job.newsletter_id}
        self.insert(
            Subscription,
            {
                "subscriber_id": "subscriber_id",
                # A bounced reader keeps the subscription; the person is suppressed (as a
                # bounce arriving here would leave them).
                "status": f"CASE WHEN {r}.status = 'unsubscribed' THEN 'unsubscribed' "
                "ELSE 'active' END",
                "created_at": "subscribed_at",
                "confirmed_at": "subscribed_at",
                "unsubscribed_at": "unsubscribed_at",
            },
            {**values, "welcome_due": False},
            "subscriber_id IS NOT NULL",
        )
        self.insert(
            ConsentEvent,
            {"subscriber_id": "subscriber_id", "detail": "detail"},
            {**values, "action": ConsentEvent.Action.IMPORT, "source": Source.IMPORT},
            "subscriber_id IS NOT NULL",
        )
        self.insert(
            SuppressionEvent,
            {"subscriber_id": "subscriber_id", "reason": "detail"},
            {"kind": SuppressionEvent.Kind.BOUNCE, "esp_event": ""},
            f"subscriber_id IS NOT NULL AND {r}.status = 'bounced'",
        )
        if tags:
            self.tag(tags)
        return imported, joined
