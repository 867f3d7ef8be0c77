"""Moving in: a Substack export of 500 posts and 100,000 readers, imported as
``import_newsletter`` imports it, against a plain CSV import of the same readers.

Prints one line per database, ``BENCH migrate db=sqlite posts=500 readers=100000
seconds=... limit_seconds=600 csv_import_seconds=... ratio=... posts_seconds=...
readers_seconds=... ok=...``. ``seconds`` is the whole export: each post converted,
validated, rendered once and frozen, its old address redirected; then every reader with
their status, dates, tags and consent record. The issue's budget is 5 minutes on PostgreSQL
and 10 on SQLite. ``csv_import_seconds`` is ``subscribers.imports.import_csv`` of the same
addresses and names as a plain CSV, in the same run on the same database; ``ratio`` is the
whole move-in over that import (``readers_seconds`` alone compares the readers).

SQLite runs on a throwaway file; PostgreSQL on ``BENCH_MIGRATE_DATABASE_URL`` (never a real
database) or a ``superfast_bench_migrate`` database of the local server, made afresh, left
out (saying so) when neither answers. Each database is timed in a process of its own.
``BENCH_MIGRATE_POSTS`` and ``BENCH_MIGRATE_READERS`` make it smaller.
"""

import csv
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.support import empty_subscribers, on_each_database, setup_django

POSTS = int(os.environ.get("BENCH_MIGRATE_POSTS", "500"))
READERS = int(os.environ.get("BENCH_MIGRATE_READERS", "100000"))
LIMIT_SECONDS = {"sqlite": 600, "postgresql": 300}


def post_html(n: int) -> str:
    """A post shaped like a weekly digest: intro, three sections of links, an image, a quote."""
    parts = [f"<p>Week {n}: what moved in machine learning, in five minutes.</p>"]
    for section in ("📰 News", "Papers", "Tools"):
        links = "".join(
            f'<li><a href="https://example.org/{n}/{section[-4:]}/{k}">Story {k} of week {n}</a>'
            f" — a one-line note on why it matters</li>"
            for k in range(6)
        )
        parts += [f"<h2>{section}</h2>", f"<ul>{links}</ul>", "<p>" + "Some prose. " * 40 + "</p>"]
    parts += [
        f'<figure><img src="https://cdn.example/{n}.png" alt="Chart {n}">'
        "<figcaption>The week in one chart.</figcaption></figure>",
        "<blockquote><p>A quote worth keeping.</p></blockquote><hr>",
    ]
    return "".join(parts)


def reader_rows(readers: int):
    """(email, name, plan, email_disabled, created_at): one in ten pays, one in twelve
    turned emails off, as a publication a few years old might look."""
    for n in range(readers):
        plan = "yearly" if n % 10 == 0 else ""
        created = f"20{19 + n % 5}-{1 + n % 12:02d}-{1 + n % 28:02d}T09:12:00.000Z"
        yield f"reader{n}@example{n % 97}.org", f"Reader {n}", plan, n % 12 == 0, created


def substack_readers_csv(readers: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "active_subscription", "plan", "email_disabled",
                     "created_at"])  # fmt: skip
    for email, name, plan, disabled, created in reader_rows(readers):
        writer.writerow([email, name, str(bool(plan)).lower(), plan, str(disabled).lower(),
                         created])  # fmt: skip
    return out.getvalue()


def plain_csv(readers: int) -> bytes:
    """The same readers as a CSV anyone could import: address and name."""
    lines = ["email,name", *(f"{e},{name}" for e, name, *_ in reader_rows(readers))]
    return ("\n".join(lines) + "\n").encode()


def substack_export(path: Path, posts: int, readers: int) -> Path:
    listing = io.StringIO()
    writer = csv.writer(listing)
    writer.writerow(["post_id", "post_date", "is_published", "audience", "title", "subtitle"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(posts):
            post_id = f"{1000 + n}.week-{n}"
            date = f"20{15 + n // 52:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}T14:00:00Z"
            writer.writerow([post_id, date, "true", "everyone", f"Week {n}", "The digest"])
            archive.writestr(f"posts/{post_id}.html", post_html(n))
        archive.writestr("posts.csv", listing.getvalue())
        archive.writestr("email_list.bench.csv", substack_readers_csv(readers))
    return path


def time_migrate(database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder, database_url)
        from django.conf import settings
        from django.db import connection

        from bench.support import reset_data
        from issues.importers.exports import open_export
        from issues.importers.posts import import_posts
        from issues.importers.readers import export_readers, import_readers
        from issues.models import Newsletter
        from subscribers.imports import import_csv

        settings.MEDIA_ROOT = Path(folder) / "media"
        postgresql = connection.vendor == "postgresql"  # SQLite is a fresh file already
        if postgresql:
            reset_data()
        newsletter = Newsletter.objects.create(
            name="Bench", slug="bench", from_name="Bench", from_email="bench@example.org"
        )
        export = substack_export(Path(folder) / "export.zip", POSTS, READERS)
        started = time.perf_counter()
        posts = import_posts("substack", export, newsletter)
        posts_seconds = time.perf_counter() - started
        readers = import_readers(
            newsletter, export_readers("substack", open_export(export)), platform="Substack"
        )
        seconds = time.perf_counter() - started
        assert posts.count("imported") == POSTS, list(posts.lines())[-1]
        assert readers.imported_total == READERS, readers.summary()

        empty_subscribers()
        data = plain_csv(READERS)
        started = time.perf_counter()
        csv_report = import_csv(data, newsletter)
        csv_seconds = time.perf_counter() - started
        assert csv_report.imported == READERS, csv_report.summary()
        empty_subscribers()
        if postgresql:
            reset_data()
        vendor = connection.vendor
    limit = LIMIT_SECONDS[vendor]
    print(
        f"BENCH migrate db={vendor} posts={POSTS} readers={READERS} seconds={seconds:.2f} "
        f"limit_seconds={limit} csv_import_seconds={csv_seconds:.2f} "
        f"ratio={seconds / csv_seconds:.1f} posts_seconds={posts_seconds:.2f} "
        f"readers_seconds={seconds - posts_seconds:.2f} ok={'yes' if seconds < limit else 'no'}",
        flush=True,
    )
    return 0 if seconds < limit else 1


def main(argv=None):
    return on_each_database("migrate", time_migrate, argv)


if __name__ == "__main__":
    sys.exit(main())
