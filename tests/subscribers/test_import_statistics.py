"""An import is done once the planner knows what it added.

Both imports (a CSV list, and readers moving in from another platform) end with
``VACUUM (ANALYZE)`` of the tables they filled: until then PostgreSQL plans for the tables
as they were, and a million new readers were counted with a nested loop (the dashboard took
1.4 s in ``BENCH scale``, whose worker was stopped as soon as its import said "done", before
two of the three tables were analyzed; with autovacuum off nothing ever caught up). So an
import says "done" only after the statistics are fresh, and whoever acts on "done" (an
editor opening the dashboard, a deploy stopping the worker) finds them so.
"""

import pytest
from django.core.files.base import ContentFile

from subscribers import imports, moving_in
from subscribers.models import ImportJob
from tests.support.factories import make_newsletter

pytestmark = pytest.mark.django_db


def status_when_statistics_refresh(module, monkeypatch) -> list[str]:
    """The newest import job's status each time ``module`` refreshes the statistics."""
    seen, refresh = [], module.refresh_statistics

    def noting(*models, **options):
        seen.append(ImportJob.objects.latest("pk").status)
        refresh(*models, **options)

    monkeypatch.setattr(module, "refresh_statistics", noting)
    return seen


def test_a_csv_import_is_done_only_once_the_statistics_are_fresh(monkeypatch):
    newsletter = make_newsletter()
    text = "email\n" + "".join(f"reader{n}@example.org\n" for n in range(20))
    job = imports.start_import(ContentFile(text.encode(), name="list.csv"), newsletter)
    seen = status_when_statistics_refresh(imports, monkeypatch)

    imports.import_stored_file(job.pk)

    assert seen == [ImportJob.Status.RUNNING]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported == 20


def test_readers_moving_in_are_done_only_once_the_statistics_are_fresh(monkeypatch):
    newsletter = make_newsletter()
    readers = [moving_in.ImportedReader(email=f"mover{n}@example.org") for n in range(20)]
    seen = status_when_statistics_refresh(moving_in, monkeypatch)

    report = moving_in.import_readers(newsletter, readers, platform="Substack")

    assert seen == [ImportJob.Status.RUNNING]
    assert ImportJob.objects.latest("pk").status == ImportJob.Status.DONE
    assert report.imported_total == 20
