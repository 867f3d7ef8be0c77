"""CSV import of 100,000 subscribers, against a raw bulk insert of the same rows.

Prints one line per database, ``BENCH import db=sqlite rows=... seconds=...
baseline_seconds=... ratio=... limit_seconds=20 ok=...``: ``ratio`` is what validation,
duplicate checks and the consent record cost over inserting the bare rows; ``ok`` says
whether the import met its budget (20 s on SQLite, the embedded default; 10 s on PostgreSQL).

SQLite runs on a throwaway file under a temporary directory. The PostgreSQL line runs on
``BENCH_IMPORT_DATABASE_URL`` (migrated, and emptied of subscribers: never a real database),
or else on a ``superfast_bench_import`` database of the local server, made afresh; it is left
out, saying so, when neither answers. Each database is timed in a process of its own.
"""

import os
import sys
import tempfile
import time

from bench.support import empty_subscribers, on_each_database, setup_django

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
LIMIT_SECONDS = {"sqlite": 20, "postgresql": 10}


def csv_bytes(rows):
    lines = ["email;name"]
    lines += [f"reader{n}@Example{n % 97}.org;Reader Number {n}" for n in range(rows)]
    lines.append("not-an-address;Broken")
    lines.append("reader0@example0.org;Duplicate")
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def time_import(database_url: str | None) -> int:
    """Time the import on one database (SQLite when None) and print its BENCH line."""
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder, database_url)
        from django.apps import apps
        from django.db import connection, transaction

        from subscribers.imports import import_csv
        from subscribers.models import Subscriber

        Newsletter = apps.get_model("issues", "Newsletter")
        Newsletter.objects.filter(slug="bench").delete()
        newsletter = Newsletter.objects.create(
            name="Bench", slug="bench", from_name="Bench", from_email="bench@example.org"
        )

        empty_subscribers()
        data = csv_bytes(ROWS)
        started = time.perf_counter()
        report = import_csv(data, newsletter)
        seconds = time.perf_counter() - started
        assert report.imported == ROWS and report.job.rejected == 2, report.summary()

        empty_subscribers()
        started = time.perf_counter()
        with transaction.atomic():
            Subscriber.objects.bulk_create(
                [Subscriber(email=f"reader{n}@example{n % 97}.org") for n in range(ROWS)],
                batch_size=1000,
            )
        baseline = time.perf_counter() - started
        empty_subscribers()
        newsletter.delete()
        vendor = connection.vendor

    limit = LIMIT_SECONDS[vendor]
    print(
        f"BENCH import db={vendor} rows={ROWS} seconds={seconds:.2f} "
        f"baseline_seconds={baseline:.2f} ratio={seconds / baseline:.1f} "
        f"limit_seconds={limit} ok={'yes' if seconds < limit else 'no'}",
        flush=True,
    )
    return 0 if seconds < limit else 1


def main(argv=None):
    return on_each_database("import", time_import, argv)


if __name__ == "__main__":
    sys.exit(main())
