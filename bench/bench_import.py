"""CSV import of 100,000 subscribers, against a raw bulk insert of the same rows.

Prints ``BENCH import rows=... seconds=... baseline_seconds=... ratio=... limit_seconds=60
ok=...``: ``ratio`` is what validation, duplicate checks and the consent record cost over
inserting the bare rows; ``ok`` says whether the import met the one-minute budget.

Runs on a throwaway SQLite database under a temporary directory, or on
``BENCH_DATABASE_URL`` (migrated, and emptied of subscribers: never a real database).
"""

import os
import sys
import tempfile
import time

from bench.support import setup_django

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
LIMIT_SECONDS = 60


def csv_bytes(rows):
    lines = ["email;name"]
    lines += [f"reader{n}@Example{n % 97}.org;Reader Number {n}" for n in range(rows)]
    lines.append("not-an-address;Broken")
    lines.append("reader0@example0.org;Duplicate")
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def main():
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder, os.environ.get("BENCH_DATABASE_URL"))
        from django.apps import apps
        from django.db import transaction

        from subscribers.imports import import_csv
        from subscribers.models import ConsentEvent, Subscriber

        newsletter = apps.get_model("issues", "Newsletter").objects.create(
            name="Bench", slug="bench", from_name="Bench", from_email="bench@example.org"
        )

        def empty():
            ConsentEvent.objects.all().delete()
            Subscriber.objects.all().delete()

        empty()
        data = csv_bytes(ROWS)
        started = time.perf_counter()
        report = import_csv(data, newsletter)
        seconds = time.perf_counter() - started
        assert report.imported == ROWS and report.job.rejected == 2, report.summary()

        empty()
        started = time.perf_counter()
        with transaction.atomic():
            Subscriber.objects.bulk_create(
                [Subscriber(email=f"reader{n}@example{n % 97}.org") for n in range(ROWS)],
                batch_size=1000,
            )
        baseline = time.perf_counter() - started
        empty()

    print(
        f"BENCH import rows={ROWS} seconds={seconds:.2f} baseline_seconds={baseline:.2f} "
        f"ratio={seconds / baseline:.1f} limit_seconds={LIMIT_SECONDS} "
        f"ok={'yes' if seconds < LIMIT_SECONDS else 'no'}",
        flush=True,
    )
    return 0 if seconds < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
