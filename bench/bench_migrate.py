"""Moving in: a Substack export of 500 posts imported by ``import_newsletter``'s service.

Prints one line per database, ``BENCH migrate db=sqlite posts=500 readers=0 seconds=...
seconds_per_post=... limit_seconds=600 ok=...``. The issue's budget is the whole export, posts
and 100,000 readers, in 5 minutes on PostgreSQL and 10 on SQLite; this times the posts (each
converted, validated, rendered once and frozen, its old address redirected). The readers and
the ratio against a plain CSV import join this line with the readers import.

SQLite runs on a throwaway file; PostgreSQL on ``BENCH_MIGRATE_DATABASE_URL`` (never a real
database) or a ``superfast_bench_migrate`` database of the local server, made afresh, left
out (saying so) when neither answers. Each database is timed in a process of its own.
"""

import csv
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.support import on_each_database, setup_django

POSTS = int(os.environ.get("BENCH_MIGRATE_POSTS", "500"))
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


def substack_export(path: Path, posts: int) -> Path:
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
    return path


def time_migrate(database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder, database_url)
        from django.conf import settings
        from django.db import connection

        from bench.support import reset_data
        from issues.importers.posts import import_posts
        from issues.models import Newsletter

        settings.MEDIA_ROOT = Path(folder) / "media"
        postgresql = connection.vendor == "postgresql"  # SQLite is a fresh file already
        if postgresql:
            reset_data()
        newsletter = Newsletter.objects.create(
            name="Bench", slug="bench", from_name="Bench", from_email="bench@example.org"
        )
        export = substack_export(Path(folder) / "export.zip", POSTS)
        started = time.perf_counter()
        report = import_posts("substack", export, newsletter)
        seconds = time.perf_counter() - started
        assert report.count("imported") == POSTS, list(report.lines())[-1]
        if postgresql:
            reset_data()
        vendor = connection.vendor
    limit = LIMIT_SECONDS[vendor]
    print(
        f"BENCH migrate db={vendor} posts={POSTS} readers=0 seconds={seconds:.2f} "
        f"seconds_per_post={seconds / POSTS:.3f} limit_seconds={limit} "
        f"ok={'yes' if seconds < limit else 'no'}",
        flush=True,
    )
    return 0 if seconds < limit else 1


def main(argv=None):
    return on_each_database("migrate", time_migrate, argv)


if __name__ == "__main__":
    sys.exit(main())
