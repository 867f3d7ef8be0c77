"""An import from another platform started in the admin and run by a worker.

The admin stores the upload in the private storage (never served) under a name made here
(``store``), shows a dry run of the posts, and on confirmation records a
``PlatformImport`` and queues it. The worker (``run_platform_import``) imports the posts,
then the readers, counting both as it goes and committing post by post and batch by batch,
so the page that polls ``import_progress`` sees them move; a few hundred posts and a
hundred thousand readers take minutes, longer than a web request may. The report and the
list of what was skipped and why stay on the row; the stored export is deleted once read.
"""

import csv
import io
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Newsletter, PlatformImport
from . import queue
from .exports import ExportError, open_export
from .platforms import PLATFORM_NAMES, POST_READERS
from .posts import PostsReport, import_posts
from .readers import ReadersReport, export_readers, import_readers

FOLDER = "imports"
STORED_NAME = re.compile(rf"^{FOLDER}/[0-9a-f]{{32}}\.(zip|json|csv)$")


def store(upload) -> str:
    """The upload, streamed in chunks into the private storage under a name of ours."""
    suffix = Path(upload.name.lower()).suffix.lstrip(".")
    suffix = suffix if suffix in ("json", "csv") else "zip"
    return storages["private"].save(f"{FOLDER}/{uuid.uuid4().hex}.{suffix}", upload)


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """The stored export as a local file (a bucket's object is copied to a temporary one)."""
    storage = storages["private"]
    try:
        yield Path(storage.path(name))
        return
    except NotImplementedError:
        pass
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix) as local:
        with storage.open(name, "rb") as source:
            shutil.copyfileobj(source, local)
        local.flush()
        yield Path(local.name)


def count_readers(platform: str, path: Path) -> int:
    """How many readers the export holds (read once more by the import itself)."""
    return sum(1 for _ in export_readers(platform, open_export(path)))


@dataclass
class MoveIn:
    """What one import of an export did: its posts (None: the platform exports none) and
    its readers."""

    posts: PostsReport | None
    readers: ReadersReport

    def lines(self) -> Iterator[str]:
        if self.posts is not None:
            yield from self.posts.lines()
        yield self.readers.summary() if self.readers.read else "No readers in this export."
        for skip in self.readers.skipped:
            yield f"  reader {skip.position} ({skip.email}) skipped: {skip.reason}"


def move_in(
    platform: str,
    path: Path,
    newsletter: Newsletter,
    *,
    readers_path: Path | None = None,
    dry_run: bool = False,
    fetch_images: bool = False,
    posts_progress: Callable[[int, int], None] | None = None,
    readers_progress: Callable[[int], None] | None = None,
) -> MoveIn:
    """The posts of the export at ``path`` (when the platform exports posts), then its
    readers (or those of ``readers_path``: Ghost's members are a file of their own)."""
    posts = None
    if platform in POST_READERS:
        posts = import_posts(
            platform,
            path,
            newsletter,
            dry_run=dry_run,
            fetch_images=fetch_images,
            progress=posts_progress,
        )
    readers = import_readers(
        newsletter,
        export_readers(platform, open_export(readers_path or path)),
        platform=PLATFORM_NAMES[platform],
        dry_run=dry_run,
        progress=readers_progress,
    )
    return MoveIn(posts, readers)


def review(
    platform: str, path: Path, newsletter: Newsletter, *, fetch_images: bool
) -> tuple[PostsReport | None, int]:
    """What the admin shows before the import: the posts' dry run, and how many readers the
    export holds (judging them is the worker's: a big list takes longer than a request)."""
    posts = None
    if platform in POST_READERS:
        posts = import_posts(platform, path, newsletter, dry_run=True, fetch_images=fetch_images)
    return posts, count_readers(platform, path)


def start_platform_import(
    stored: str, platform: str, newsletter: Newsletter, *, fetch_images: bool, user=None
) -> PlatformImport:
    """Record the import of the stored export and queue it for a worker."""
    job = PlatformImport.objects.create(
        stored=stored,
        platform=platform,
        newsletter=newsletter,
        fetch_images=fetch_images,
        created_by=user,
    )
    transaction.on_commit(lambda: queue.enqueue_platform_import(job.pk))
    return job


def run_platform_import(job_id: int) -> PlatformImport | None:
    """The worker's part: the posts, then the readers, counted as they go.

    Claimed once (a second delivery of the task finds it running and does nothing). An
    export that cannot be read fails the import with its message; the stored file is
    deleted either way.
    """
    claimed = PlatformImport.objects.filter(pk=job_id, status=PlatformImport.Status.QUEUED).update(
        status=PlatformImport.Status.RUNNING
    )
    job = PlatformImport.objects.select_related("newsletter").filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    jobs = PlatformImport.objects.filter(pk=job_id)
    try:
        with local_copy(job.stored) as local:
            jobs.update(readers_total=count_readers(job.platform, local))
            moved = move_in(
                job.platform,
                local,
                job.newsletter,
                fetch_images=job.fetch_images,
                posts_progress=lambda done, total: jobs.update(posts_done=done, posts_total=total),
                readers_progress=lambda done: jobs.update(readers_done=done),
            )
        jobs.update(
            status=PlatformImport.Status.DONE,
            report="\n".join(moved.lines()),
            skipped_csv=skipped_csv(job.platform, moved),
            readers_done=F("readers_total"),
            finished_at=timezone.now(),
        )
    except ExportError as error:
        jobs.update(
            status=PlatformImport.Status.FAILED, error=str(error), finished_at=timezone.now()
        )
    except Exception as error:
        jobs.update(
            status=PlatformImport.Status.FAILED,
            error=f"The import stopped on an unexpected error: {error}",
            finished_at=timezone.now(),
        )
        raise
    finally:
        storages["private"].delete(job.stored)
    job.refresh_from_db()
    return job


def skipped_csv(platform: str, moved: MoveIn) -> str:
    """Every post that did not become a sent issue as it was (drafts, repeats, failures,
    pictures left remote) and every reader left out, with why."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["platform", "kind", "id", "title or address", "date", "outcome", "why"])
    for outcome in moved.posts.outcomes if moved.posts else []:
        if outcome.action != "imported" or outcome.notes:
            post = outcome.post
            date = post.date.isoformat() if post.date else ""
            writer.writerow(
                [platform, "post", post.external_id, post.title, date, outcome.action,
                 "; ".join(outcome.notes)]
            )  # fmt: skip
    for skip in moved.readers.skipped:
        writer.writerow([platform, "reader", skip.position, skip.email, "", "skipped", skip.reason])
    return out.getvalue()


def import_progress(job: PlatformImport) -> dict:
    """What the admin's progress bars poll: posts and readers done of their totals."""
    done = job.status in (PlatformImport.Status.DONE, PlatformImport.Status.FAILED)
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": done,
        "posts_done": job.posts_done,
        "posts_total": job.posts_total,
        "readers_done": job.readers_done,
        "readers_total": job.readers_total,
        "error": job.error,
    }
