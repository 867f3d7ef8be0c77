"""Imports of any size run in the worker: streamed, staged, judged in SQL, resumable.

Driven as an editor drives it: the admin's upload form, a real worker, the progress the
page polls, the per-line report, the CSV of rejected lines.
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from subscribers import services
from subscribers.models import (
    ConsentEvent,
    ImportJob,
    ImportRow,
    Subscriber,
    Subscription,
    SuppressionEvent,
    Tag,
)
from tests.support.delivery import children_of, kill_hard
from tests.support.factories import make_newsletter
from tests.support.processes import celery_worker
from tests.support.subscribers import finished_import, stored_lists
from tests.support.waiting import wait_until

IMPORT = "/admin/subscribers/subscriber/import/"


@pytest.fixture
def editor_client(client, django_user_model, transactional_db):
    editor = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    client.force_login(editor)
    return client


def upload(client, newsletter, text, name="list.csv"):
    data = SimpleUploadedFile(name, text.encode(), "text/csv")
    response = client.post(IMPORT, {"file": data, "newsletter": newsletter.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url


class ListFile:
    """A subscriber file with every kind of line, and what importing it must do."""

    def __init__(self, good):
        self.lines = ["Email,Name,Tags"]
        self.expected_rejections = {}
        for n in range(good):
            tags = "ai;research" if n % 3 == 0 else ""
            self.add(f"reader{n}@example.org,Reader {n},{tags}")

    def add(self, line, reason=None):
        self.lines.append(line)
        if reason:
            self.expected_rejections[len(self.lines)] = reason  # line numbers start at 1

    @property
    def text(self):
        return "\r\n".join(self.lines) + "\r\n"


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_a_large_file_imports_in_batches_with_the_exact_per_line_report(editor_client, tmp_path):
    weekly, other = make_newsletter(), make_newsletter(slug="field-notes", name="Field Notes")
    Subscriber.objects.create(email="left@example.org", status="unsubscribed")
    Subscriber.objects.create(email="waiting@example.org", status="pending")
    bounced = Subscriber.objects.create(email="bounced@example.org", status="active")
    services.suppress(bounced, SuppressionEvent.Kind.BOUNCE, reason="550 no such user")
    known = Subscriber.objects.create(email="known@example.org", status="active")
    Subscription.objects.create(subscriber=known, newsletter=weekly, status="active")
    elsewhere = Subscriber.objects.create(email="elsewhere@example.org", status="active")
    Subscription.objects.create(subscriber=elsewhere, newsletter=other, status="active")
    erased = Subscriber.objects.create(email="gone@example.org", status="active")
    services.erase(erased)

    listing = ListFile(good=5000)
    listing.add(
        "READER10@Example.org,Same Person Later,", "duplicate: already earlier in this file"
    )
    listing.add("not-an-address,Broken,", "invalid address")
    listing.add("left@example.org,Left,", "previously unsubscribed")
    listing.add(
        "waiting@example.org,Waiting,", "pending: waiting for the person's own confirmation"
    )
    listing.add("bounced@example.org,Bounced,", "previously bounced")
    listing.add("known@example.org,Known,", "duplicate: already subscribed")
    listing.add("gone@example.org,Gone,", "previously erased at the owner's request")
    listing.add("elsewhere@example.org,Elsewhere,ai")
    listing.add("tabbed@example.org,Tab\tName,", "name contains control characters")
    for n in range(20):  # more good lines after the trouble, in the last batch
        listing.add(f"late{n}@example.org,Late {n},")
    lists_before = stored_lists()
    with celery_worker(tmp_path, env={"SUBSCRIBER_IMPORT_BATCH_ROWS": "700"}):
        job_url = upload(editor_client, weekly, listing.text)
        figures = finished_import(editor_client, job_url)
    # The file goes once the job is done: every address in it is imported or reported.
    assert stored_lists() <= lists_before

    assert figures["status"] == "done" and figures["percent"] == 100.0
    assert figures["lines"] == len(listing.lines) - 1
    assert (figures["imported"], figures["added_to_newsletter"]) == (5020, 1)
    assert figures["rejected"] == len(listing.expected_rejections) == 8
    job = ImportJob.objects.get()
    rejected = {r.line: r.reason for r in job.rejections.all()}
    assert rejected.keys() == listing.expected_rejections.keys()
    for line, reason in listing.expected_rejections.items():
        assert rejected[line].startswith(reason), (line, rejected[line])

    report = editor_client.get(job_url + "rejections.csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["line", "email", "reason"] and len(rows) == 9
    page = editor_client.get(job_url).content.decode()
    assert "5020 imported, 1 existing subscribers added to the newsletter, 8 rejected" in page

    recipients = services.recipients(weekly.pk)
    assert recipients.count() == 5020 + 1 + 1  # the file's new readers, elsewhere, known
    assert Subscriber.objects.get(email="reader10@example.org").name == "Reader 10"
    assert ConsentEvent.objects.filter(action="import", newsletter=weekly).count() == 5021
    ai = Tag.objects.get(name="ai")
    assert ai.subscribers.count() == len(range(0, 5000, 3)) + 1
    assert Tag.objects.get(name="research").subscribers.count() == len(range(0, 5000, 3))
    assert Subscriber.objects.get(email="left@example.org").status == "unsubscribed"
    assert Subscriber.objects.get(email="bounced@example.org").status == "bounced"
    assert not Subscriber.objects.filter(email="gone@example.org").exists()
    assert not ImportRow.objects.exists()  # the staging rows are gone
    job.refresh_from_db()
    assert not job.file


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_a_worker_killed_mid_import_is_taken_over_and_nothing_is_doubled(editor_client, tmp_path):
    weekly = make_newsletter()
    listing = ListFile(good=20_000)
    listing.add("reader5@example.org,Again,", "duplicate: already earlier in this file")
    env = {
        "SUBSCRIBER_IMPORT_BATCH_ROWS": "1000",
        "SUBSCRIBER_IMPORT_STALE_SECONDS": "2",
    }
    lists_before = stored_lists()
    with celery_worker(tmp_path, env=env) as first:
        pids = [*children_of(first.pid), first.pid]
        job_url = upload(editor_client, weekly, listing.text)

        def some_batches_in():
            job = ImportJob.objects.get()
            return job if job.lines >= 3000 else None

        wait_until(some_batches_in, timeout=120, what="two batches", interval=0.02)
        kill_hard(first, pids)
    killed_at = ImportJob.objects.get().lines
    assert 3000 <= killed_at < 20_001, "the kill came after the import"

    with celery_worker(tmp_path, env=env, extra_args=["--beat"]):
        figures = finished_import(editor_client, job_url, timeout=180)

    assert figures["status"] == "done"
    assert stored_lists() <= lists_before, "the list is deleted after the takeover too"
    assert (figures["imported"], figures["rejected"]) == (20_000, 1)
    job = ImportJob.objects.get()
    assert list(job.rejections.values_list("line", "reason")) == [
        (20_002, "duplicate: already earlier in this file")
    ]
    assert services.recipients(weekly.pk).count() == 20_000
    assert ConsentEvent.objects.filter(action="import").count() == 20_000
