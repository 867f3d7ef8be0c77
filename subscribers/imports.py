"""Importing a subscriber list of any size: streamed, staged, then judged in set-based SQL.

A file of a million lines is never held in memory. Lines are read one at a time from the
stored upload and checked in Python for what SQL cannot judge (address syntax and IDNA,
names, tags); a batch of them is staged in a table (PostgreSQL's COPY) and judged against
the database in a few statements: repeats of an earlier line, people who left, bounced or
asked to be erased, existing subscribers joining. Then the batch goes in with
``INSERT … SELECT``, in one transaction, so a crash loses at most the batch in flight and
a second run of the same file adds nothing. Nobody who unsubscribed, bounced, complained
or erased their data is ever brought back.

Imports from the admin run in the worker (``subscribers.tasks.import_subscribers``) and
report progress as they go; ``manage.py import_subscribers`` runs the same code in its own
process. An uploaded file waits in the private storage (``STORAGES["private"]``, served by
nothing) under a random name, and is deleted when its job ends: done, stopped by an error,
or given up after ``SUBSCRIBER_IMPORT_GIVE_UP_SECONDS`` without progress.
"""

import codecs
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.timesince import timesince

from superfast.estimates import refresh_statistics

from .csv_io import TAG_SEPARATOR, ImportFileError, check_row, read_rows
from .models import (
    ConsentEvent,
    ErasedAddress,
    ImportJob,
    ImportRejection,
    ImportRow,
    Source,
    Subscriber,
    Subscription,
)
from .queue import enqueue_import
from .segments import tags_named
from .services.addresses import normalized_email_hash

SNIFF_BYTES = 1 << 20


def text_stream(binary: BinaryIO) -> io.TextIOWrapper:
    """The file as text, decoded while it is read: UTF-8 (a BOM is dropped) when its first
    megabyte is UTF-8, else Windows-1252, the usual other export of spreadsheet programs."""
    head = binary.read(SNIFF_BYTES)
    binary.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "cp1252"
    return io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")


def check_header(binary: BinaryIO) -> None:
    """Raise ImportFileError now if the header row is unusable (the rest waits for a worker)."""
    text = text_stream(binary)
    try:
        next(read_rows(itertools.islice(text, 1)), None)
    finally:
        text.detach()  # leave the file open for whoever stores it
        binary.seek(0)


def run_import(job: ImportJob, binary: BinaryIO, *, batch_rows: int = 0) -> ImportJob:
    """Import the CSV in ``binary`` into the job's newsletter, batch by batch.

    A job that was interrupted resumes after the last line it committed.
    """
    batch_rows = batch_rows or settings.SUBSCRIBER_IMPORT_BATCH_ROWS
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=job.started_at or now, heartbeat_at=now
    )
    text = text_stream(binary)  # held here: a wrapper let go closes the file under it
    try:
        rows = read_rows(text)
        rows = itertools.dropwhile(lambda numbered: numbered[0] <= job.last_line, rows)
        batches = iter(lambda: list(itertools.islice(rows, batch_rows)), [])
        for batch in batches:
            import_batch(job, batch, read_bytes=binary.tell())
    except ImportFileError as error:
        outcome = (ImportJob.Status.FAILED, str(error))
    else:
        outcome = (ImportJob.Status.DONE, "")
    finally:
        ImportRow.objects.filter(job=job).delete()
        text.detach()
    # Before the job says it ended: whoever acts on that (an editor opening the dashboard, a
    # deploy stopping this worker) finds the planner knowing the new readers.
    refresh_statistics(Subscriber, Subscription, ConsentEvent, vacuum=True)
    finish(job, *outcome)  # after the staging rows are gone: a finished job left none
    job.refresh_from_db()
    return job


def finish(job: ImportJob, status: str, error: str = "") -> None:
    """End the job. Its uploaded file goes first, so a job shown as ended holds no list."""
    if error and job.lines:
        error += " The lines before it were imported."
    if job.file:
        job.file.delete(save=False)
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=timezone.now(), read_bytes=F("size"), file=""
    )


def discard_file(job: ImportJob) -> None:
    """Delete an ended job's uploaded file: every address in it is imported, in the report,
    or (given up) to be uploaded again. Nothing of the list is kept beyond the job."""
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def import_batch(job: ImportJob, batch: list[tuple[int, dict]], *, read_bytes: int) -> None:
    """Check, stage and judge one batch of lines, then import what passed, atomically,
    with the job's counts and progress in the same transaction."""
    staged, rejected, tag_names = [], [], set()
    for line, row in batch:
        checked = check_row(row)
        if isinstance(checked, str):
            rejected.append(
                ImportRejection(job=job, line=line, email=row_email(row), reason=checked)
            )
            continue
        email, name, tags = checked
        tag_names.update(tags)
        staged.append(
            (
                job.pk,
                line,
                email,
                email.lower(),
                normalized_email_hash(email),
                name,
                TAG_SEPARATOR.join(tags),
            )
        )
    first, last = batch[0][0], batch[-1][0]
    with transaction.atomic():
        ImportRejection.objects.bulk_create(rejected, batch_size=5000)
        stage(staged)
        judged = Judgement(job, first, last)
        judged.reject_what_cannot_go_in()
        imported, joined = judged.import_the_rest(
            tags_named(sorted(tag_names)) if tag_names else {}
        )
        ImportJob.objects.filter(pk=job.pk).update(
            imported=F("imported") + imported,
            added_to_newsletter=F("added_to_newsletter") + joined,
            rejected=F("rejected") + len(rejected) + judged.rejected,
            lines=F("lines") + len(batch),
            last_line=last,
            read_bytes=read_bytes,
            heartbeat_at=timezone.now(),
        )


def row_email(row: dict) -> str:
    return row["email"].strip()[:254]


STAGED_COLUMNS = ("job_id", "line", "email", "email_key", "email_hash", "name", "tags")


def stage(rows: list[tuple], columns: tuple[str, ...] = STAGED_COLUMNS) -> None:
    """Write checked lines (values of ``columns``) into the staging table: COPY on
    PostgreSQL, a bulk INSERT elsewhere.

    Then fresh statistics, at every batch: the batch's lines lie past the range the last
    sample saw, and a planner that takes them for none scans the table once per staged line
    (minutes at a million lines). The sample is small (a statistics target of 10 on the
    columns looked up, migration ``subscribers/0009``): a tenth of a second per batch.
    """
    if not rows:
        return
    table = ImportRow._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            named = ", ".join(columns)
            with cursor.cursor.copy(f"COPY {table} ({named}, reason) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, ""))
            # The columns the batch's statements look lines up by: the rest (names,
            # addresses) would cost the sampling time and tell the planner nothing.
            cursor.execute(f"ANALYZE {table} (job_id, line, email_key)")
        return
    # One prepared INSERT run for every line: the ORM's bulk_create built a model instance
    # and a statement's worth of SQL per 2,000 lines, most of a 100,000-line import.
    adapt = connection.ops.adapt_datetimefield_value
    placeholders = ", ".join(["%s"] * (len(columns) + 1))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}, reason) VALUES ({placeholders})",
            [
                tuple(adapt(value) if isinstance(value, datetime) else value for value in row)
                + ("",)
                for row in rows
            ],
        )


def staged_key(table: str) -> str:
    """A staged line's ``email_key`` as the lookup in the unique ``LOWER(email)`` index needs it.

    On SQLite the column's TEXT affinity, applied to the comparison, keeps the planner from
    matching the expression index: it scanned every subscriber once per staged line, which
    made an import quadratic (8,000 lines in 10 s). A unary ``+`` drops the affinity, and
    each line is one index search. PostgreSQL matches the index as the column stands.
    """
    return f"+{table}.email_key" if connection.vendor == "sqlite" else f"{table}.email_key"


class Judgement:
    """The set-based SQL for one batch of staged lines (``line`` from ``first`` to ``last``)."""

    def __init__(self, job: ImportJob, first: int, last: int):
        self.job, self.first, self.last = job, first, last
        self.rejected = 0
        self.now = timezone.now()
        self.rows = ImportRow._meta.db_table
        self.batch = (
            f"{self.rows}.job_id = {int(job.pk)} "
            f"AND {self.rows}.line BETWEEN {int(first)} AND {int(last)}"
        )

    def execute(self, sql: str, params: Iterable = ()) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.rowcount

    # What a line repeating an earlier one is told (moving in says "export", not "file").
    REPEATED_LINE = "duplicate: already earlier in this file"

    def reject_what_cannot_go_in(self) -> None:
        """Mark each staged line of the batch that must not go in with its reason, then
        record those lines as the job's rejections. Subclasses change the rules for people
        already here (``reject_known_subscribers``); the other steps are the same."""
        self.reject_repeated_lines()
        self.link_known_subscribers()
        self.reject_known_subscribers()
        self.reject_erased_addresses()
        r = self.rows
        self.rejected = self.execute(
            f"INSERT INTO {ImportRejection._meta.db_table} (job_id, line, email, reason) "
            f"SELECT job_id, line, email, reason FROM {r} WHERE {self.batch} AND reason <> ''"
        )

    def reject_repeated_lines(self) -> None:
        """A line repeating an earlier one (in this batch or a staged earlier batch). A scalar
        subquery, not EXISTS: PostgreSQL turns EXISTS into a hash join over every line
        staged so far (a million by the end), where one index probe per line is enough."""
        r = self.rows
        self.execute(
            f"UPDATE {r} SET reason = %s WHERE {self.batch} AND (SELECT 1 FROM {r} e "
            f"WHERE e.job_id = {r}.job_id AND e.email_key = {r}.email_key AND e.line < {r}.line "
            "LIMIT 1) IS NOT NULL",
            [self.REPEATED_LINE],
        )

    def known_status(self) -> str:
        """SQL for the status of the subscriber a staged line was linked to."""
        r = self.rows
        return (
            f"(SELECT s.status FROM {Subscriber._meta.db_table} s WHERE s.id = {r}.subscriber_id)"
        )

    def reject_known_subscribers(self) -> None:
        """People already here: the pending wait for their own confirmation, those who left
        or bounced stay out, and those already on this newsletter are repeats."""
        r = self.rows
        status = self.known_status()
        self.execute(
            f"UPDATE {r} SET reason = CASE "
            f"WHEN {status} = 'pending' THEN %s "
            f"WHEN {status} <> 'active' THEN %s || {status} "
            f"WHEN EXISTS (SELECT 1 FROM {Subscription._meta.db_table} m WHERE m.subscriber_id = "
            f"{r}.subscriber_id AND m.newsletter_id = %s) THEN %s ELSE '' END "
            f"WHERE {self.batch} AND reason = '' AND subscriber_id IS NOT NULL",
            [
                "pending: waiting for the person's own confirmation",
                "previously ",
                self.job.newsletter_id,
                "duplicate: already subscribed",
            ],
        )

    def reject_erased_addresses(self) -> None:
        r = self.rows
        self.execute(
            f"UPDATE {r} SET reason = %s WHERE {self.batch} AND reason = '' AND subscriber_id "
            f"IS NULL AND EXISTS (SELECT 1 FROM {ErasedAddress._meta.db_table} x "
            f"WHERE x.email_hash = {r}.email_hash)",
            ["previously erased at the owner's request"],
        )

    def link_known_subscribers(self) -> None:
        """Staged lines learn the id of the subscriber with their address, by the same
        case-insensitive key as the unique index. A join, so only lines with a match are
        written: rewriting every staged line costs as much as staging it."""
        r = self.rows
        self.execute(
            f"UPDATE {r} SET subscriber_id = s.id FROM {Subscriber._meta.db_table} s "
            f"WHERE LOWER(s.email) = {staged_key(r)} AND {self.batch} "
            f"AND {r}.reason = '' AND {r}.subscriber_id IS NULL"
        )

    def count_known_who_passed(self) -> int:
        """Lines of this batch that passed and name someone already here: they join the
        newsletter without a new subscriber row."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {self.rows} WHERE {self.batch} AND reason = '' "
                "AND subscriber_id IS NOT NULL"
            )
            return cursor.fetchone()[0]

    def import_the_rest(self, tags: dict) -> tuple[int, int]:
        """New people in, everyone who passed onto the newsletter; (imported, joined)."""
        joined = self.count_known_who_passed()
        imported = self.insert(
            Subscriber,
            {"email": "email", "name": "name"},
            {
                "status": Subscriber.Status.ACTIVE,
                "source": Source.IMPORT,
                "confirmed_at": self.now,
            },
            "subscriber_id IS NULL",
            link_back=True,
        )
        self.link_known_subscribers()  # those the insert did not link back (SQLite, a race)
        values = {"newsletter_id": self.job.newsletter_id}
        self.insert(
            Subscription,
            {"subscriber_id": "subscriber_id"},
            {**values, "status": Subscription.Status.ACTIVE, "confirmed_at": self.now},
            "subscriber_id IS NOT NULL",
        )
        self.insert(
            ConsentEvent,
            {"subscriber_id": "subscriber_id"},
            {**values, "action": ConsentEvent.Action.IMPORT, "source": Source.IMPORT},
            "subscriber_id IS NOT NULL",
        )
        if tags:
            self.tag(tags)
        return imported, joined

    def insert(
        self, model, from_rows: dict, values: dict, condition: str, *, link_back=False
    ) -> int:
        """``INSERT … SELECT`` one row of ``model`` per passing staged line.

        Columns come from the model, each from the staged line, the given values, or the
        field's default, so a field added to the model later needs no change here. With
        ``link_back`` on PostgreSQL, the staged lines learn the new rows' ids in the same
        statement (a hash join on what the insert returned, not a lookup per line).
        """
        columns, selected, params = [], [], []
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(connection.ops.quote_name(field.column))
            if field.attname in from_rows:
                selected.append(from_rows[field.attname])
                continue
            if field.attname in values:
                value = values[field.attname]
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = self.now
            else:
                value = field.get_default()
            selected.append("%s")
            params.append(field.get_db_prep_save(value, connection))
        # New subscribers go in by address: four of their indexes are ordered by it, and
        # neighbouring entries share index pages (a few seconds of a million-line import).
        order = "email_key" if link_back else "line"
        insert = (
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(selected)} FROM {self.rows} "
            f"WHERE {self.batch} AND reason = '' AND {condition} ORDER BY {order} "
            "ON CONFLICT DO NOTHING"
        )
        if not (link_back and connection.vendor == "postgresql"):
            return self.execute(insert, params)
        r = self.rows
        return self.execute(
            f"WITH added AS ({insert} RETURNING id, LOWER(email) AS email_key) "
            f"UPDATE {r} SET subscriber_id = added.id FROM added "
            f"WHERE {r}.email_key = added.email_key AND {self.batch} AND {r}.reason = ''",
            params,
        )

    def tag(self, tags: dict) -> None:
        """Each passing line's tags onto its subscriber (tags already exist by now)."""
        through = Subscriber.tags.through
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT subscriber_id, tags FROM {self.rows} "
                f"WHERE {self.batch} AND reason = '' AND tags <> ''"
            )
            links = [
                through(subscriber_id=person, tag_id=tags[name.casefold()].pk)
                for person, names in cursor.fetchall()
                for name in names.split(TAG_SEPARATOR)
            ]
        through.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)


def start_import(upload, newsletter, *, user=None) -> ImportJob:
    """Store an uploaded file where every worker can read it and queue its import."""
    job = ImportJob.objects.create(
        newsletter=newsletter, created_by=user, file_name=upload.name[:255], size=upload.size
    )
    job.file.save(upload.name, upload, save=True)  # under a random name: ImportJob.file
    transaction.on_commit(lambda: queue_import(job.pk))
    return job


def import_stored_file(job_id: int) -> ImportJob | None:
    """The worker's part: read the job's stored file and import it.

    Claimed by one worker at a time; a job whose worker died (no committed batch for
    ``SUBSCRIBER_IMPORT_STALE_SECONDS``) is taken over by the next delivery of its task
    (``resume_stalled_imports`` sends one) and resumes after its last committed line, until
    ``SUBSCRIBER_IMPORT_GIVE_UP_SECONDS`` without progress: then it is given up instead. An
    error (not a death) stops the job for good: it would stop the next attempt the same way.
    """
    give_up_stalled_imports(ImportJob.objects.filter(pk=job_id))
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SUBSCRIBER_IMPORT_STALE_SECONDS)
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportJob.Status.QUEUED)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(status=ImportJob.Status.RUNNING, heartbeat_at=now)
    )
    job = ImportJob.objects.filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    try:
        with job.file.open("rb") as binary:
            return run_import(job, binary)
    except FileNotFoundError:
        return stop(job, MISSING_FILE)
    except Exception as error:
        stop(job, f"The import stopped on an unexpected error: {error}")
        raise


def stop(job: ImportJob, error: str) -> ImportJob:
    """Fail a job an error interrupted (one that ended already stays as it ended)."""
    job.refresh_from_db()
    if job.status == ImportJob.Status.RUNNING:
        finish(job, ImportJob.Status.FAILED, error)
        job.refresh_from_db()
    return job


MISSING_FILE = (
    "The uploaded file is not in the private storage this worker reads: every web and worker "
    "process must share PRIVATE_ROOT (or PRIVATE_STORAGE_BUCKET). Upload the file again."
)


def import_progress(job: ImportJob) -> dict:
    """What the admin's progress bar polls."""
    done = job.status in {ImportJob.Status.DONE, ImportJob.Status.FAILED}
    share = 1.0 if done else (job.read_bytes / job.size if job.size else 0.0)
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": done,
        "percent": round(min(share, 1.0) * 100, 1),
        "lines": job.lines,
        "imported": job.imported,
        "added_to_newsletter": job.added_to_newsletter,
        "rejected": job.rejected,
        "error": job.error,
    }


def resume_stalled_imports() -> list[int]:
    """Queue again the imports whose worker stopped renewing them (beat runs this); give up
    on those stalled for longer than ``SUBSCRIBER_IMPORT_GIVE_UP_SECONDS`` first."""
    give_up_stalled_imports(ImportJob.objects.all())
    stale = timezone.now() - timedelta(seconds=settings.SUBSCRIBER_IMPORT_STALE_SECONDS)
    stalled = list(
        ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
        .exclude(file="")
        .values_list("pk", flat=True)
    )
    for job_id in stalled:
        queue_import(job_id)
    return stalled


def give_up_stalled_imports(jobs: QuerySet[ImportJob]) -> list[int]:
    """End the unfinished ``jobs`` nothing worked on for ``SUBSCRIBER_IMPORT_GIVE_UP_SECONDS``
    (queued ones whose task was lost too), deleting their files; their ids.

    Then the files of jobs that ended while their storage could not delete them go as well.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SUBSCRIBER_IMPORT_GIVE_UP_SECONDS)
    waited = timesince(cutoff, now)  # "1 day"
    unfinished = [ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    abandoned = jobs.filter(status__in=unfinished).alias(
        last_progress=Coalesce("heartbeat_at", "created_at")
    )
    given_up = []
    for job in abandoned.filter(last_progress__lt=cutoff):
        # Only if no worker renewed it meanwhile: a live import is never given up.
        ended = ImportJob.objects.filter(
            pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at
        ).update(
            status=ImportJob.Status.FAILED,
            finished_at=now,
            error=(
                f"No worker made progress on this import for {waited}, "
                f"so it was given up and the uploaded file deleted after {job.lines} lines "
                "(imported or in the report). To import the rest, upload the file again: "
                "addresses already imported are reported as already subscribed."
            ),
        )
        if ended:
            discard_file(job)
            given_up.append(job.pk)
    ended = jobs.exclude(status__in=unfinished).exclude(file="")
    for job in ended:
        discard_file(job)
    return given_up


def queue_import(job_id: int) -> None:
    enqueue_import(job_id)


@dataclass
class ImportReport:
    """What an import did, for the command and for code that imports a small file at once."""

    job: ImportJob

    @property
    def imported(self) -> int:
        return self.job.imported

    @property
    def added_to_newsletter(self) -> int:
        return self.job.added_to_newsletter

    @property
    def rejected(self) -> list[ImportRejection]:
        return list(self.rejections())

    def rejections(self) -> Iterator[ImportRejection]:
        """Every rejected line in order, streamed (a file may have a million)."""
        return self.job.rejections.order_by("line").iterator(chunk_size=5000)

    def summary(self) -> str:
        return self.job.summary()


def import_csv(data: bytes | BinaryIO, newsletter, *, user=None, size=0) -> ImportReport:
    """Import a CSV file (bytes, or an open binary file) in this process; raises
    ImportFileError when the file as a whole cannot be read."""
    if isinstance(data, bytes | bytearray):
        data, size = io.BytesIO(data), len(data)
    binary = data
    job = ImportJob.objects.create(newsletter=newsletter, created_by=user, size=size)
    job = run_import(job, binary)
    if job.status == ImportJob.Status.FAILED and not job.lines:
        raise ImportFileError(job.error)
    return ImportReport(job)
