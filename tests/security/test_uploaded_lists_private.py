"""Uploaded subscriber lists are never public: private storage, random names, gone at the end.

A list holds an audience's addresses. The admin's import keeps it where every web and worker
process can read it (``STORAGES["private"]``), under a name nobody can guess, outside what is
served (``/media/`` in the demo; ``MEDIA_ROOT`` or its bucket in production), and deletes it
when the job ends: done, failed, or given up after ``SUBSCRIBER_IMPORT_GIVE_UP_SECONDS``.
"""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path, PurePosixPath

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.utils import timezone
from freezegun import freeze_time

from subscribers import imports, tasks
from subscribers.models import ImportJob, Subscriber
from tests.support.admin import staff
from tests.support.processes import ROOT, celery_worker, child_env, web_server
from tests.support.subscribers import finished_import

IMPORT = "/admin/subscribers/subscriber/import/"
LIST = "email,name\nada@example.org,Ada\ngrace@example.org,Grace\nalan@example.org,Alan\n"


@pytest.fixture
def importer(client, transactional_db):
    """A staff user with exactly the permissions an import needs, logged in."""
    client.force_login(staff("importer", "view_subscriber", "add_subscriber", "change_subscriber"))
    return client


def upload(client, newsletter, text=LIST):
    """Post a file to the admin's import form as a browser does; the job it started."""
    data = ContentFile(text.encode(), name="audience.csv")
    response = client.post(IMPORT, {"file": data, "newsletter": newsletter.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))
    assert job.file.name, "the upload is stored for the worker"
    return job, response.url


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def private_path(name) -> Path:
    return Path(storages["private"].path(name)).resolve()


@pytest.mark.slow  # starts the web server
def test_an_uploaded_list_is_served_under_no_name(importer, newsletter, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    job, _ = upload(importer, newsletter)
    name = PurePosixPath(job.file.name)
    public = default_storage.save("images/public.txt", ContentFile(b"a public upload"))
    guesses = [
        str(name),
        name.name,
        f"imports/{job.pk}.csv",
        f"imports/{name.name}",
        f"private/{name}",
        f"private/imports/{name.name}",
    ]
    with web_server(tmp_path, env={"MEDIA_ROOT": settings.MEDIA_ROOT}) as site:
        # The same server serves public media, as the demo does: the 404s below are real.
        assert http_status(f"{site}/media/{public}") == 200
        for guess in guesses:
            assert http_status(f"{site}/media/{guess}") == 404, guess
        assert http_status(f"{site}/media/../private/{name}") in {400, 404}

    # Random, not the job's id: 22 URL-safe characters or more are 128 bits.
    assert len(name.stem) >= 22 and name.stem != str(job.pk)
    stored = private_path(job.file.name)
    assert stored.read_text() == LIST
    assert not stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not stored.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.csv")), "nothing of it in public media"
    storages["private"].delete(job.file.name)


def test_the_list_is_deleted_once_imported(importer, newsletter, worker):
    job, job_url = upload(importer, newsletter)
    stored = private_path(job.file.name)
    figures = finished_import(importer, job_url)
    assert (figures["status"], figures["imported"]) == ("done", 3)
    assert not stored.exists()
    job.refresh_from_db()
    assert not job.file


def test_an_import_stopped_by_an_error_is_failed_and_its_list_deleted(
    importer, newsletter, monkeypatch
):
    job, job_url = upload(importer, newsletter)
    stored = private_path(job.file.name)

    def broken_batch(*args, **kwargs):
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(imports, "import_batch", broken_batch)
    with pytest.raises(RuntimeError):
        tasks.import_subscribers(job.pk)  # the worker's task, run in this process
    figures = importer.get(job_url + "progress/").json()
    assert figures["done"] and figures["status"] == "failed"
    assert "disk I/O error" in figures["error"]
    assert not stored.exists()
    job.refresh_from_db()
    assert not job.file


@pytest.mark.worker  # starts its own Celery worker, not through a fixture
def test_a_worker_that_does_not_share_the_private_folder_says_so(importer, newsletter, tmp_path):
    """Web and worker on different folders: the job stops naming the variable to fix."""
    from superfast.celery import app

    app.control.purge()  # tasks earlier tests left queued
    with celery_worker(tmp_path, env={"PRIVATE_ROOT": tmp_path / "elsewhere"}):
        job, job_url = upload(importer, newsletter)
        figures = finished_import(importer, job_url)
    assert figures["status"] == "failed" and "PRIVATE_ROOT" in figures["error"]
    assert not Subscriber.objects.exists()
    storages["private"].delete(job.file.name)


class WorkerKilled(BaseException):
    """What ``kill -9`` leaves: no handler runs, the job row stays as the last batch left it."""


def test_a_stalled_import_is_resumed_until_the_give_up_time_then_failed_and_deleted(
    importer, newsletter, settings, monkeypatch
):
    settings.SUBSCRIBER_IMPORT_BATCH_ROWS = 2
    settings.SUBSCRIBER_IMPORT_STALE_SECONDS = 120
    settings.SUBSCRIBER_IMPORT_GIVE_UP_SECONDS = 24 * 3600
    running, _ = upload(importer, newsletter)
    lost, _ = upload(importer, newsletter, "email\nqueued@example.org\n")  # its task never ran
    import_batch, batches = imports.import_batch, []

    def dies_after_one_batch(*args, **kwargs):
        if batches:
            raise WorkerKilled
        batches.append(import_batch(*args, **kwargs))

    monkeypatch.setattr(imports, "import_batch", dies_after_one_batch)
    with pytest.raises(WorkerKilled):
        imports.import_stored_file(running.pk)
    monkeypatch.setattr(imports, "import_batch", import_batch)
    running.refresh_from_db()
    assert (running.status, running.lines) == ("running", 2)
    files = [private_path(running.file.name), private_path(lost.file.name)]
    assert all(path.exists() for path in files)

    with freeze_time(timezone.now() + timedelta(seconds=121)):
        assert imports.resume_stalled_imports() == [running.pk]  # a worker takes it over
    with freeze_time(timezone.now() + timedelta(hours=24, seconds=1)):
        assert imports.resume_stalled_imports() == []
        # A task for it still in the queue (or redelivered) does not resume it either.
        imports.import_stored_file(running.pk)
        imports.import_stored_file(lost.pk)

    for job in (running, lost):
        job.refresh_from_db()
        assert job.status == "failed" and job.finished_at
        assert "given up" in job.error and "upload the file again" in job.error, job.error
        assert not job.file
    assert running.lines == 2
    assert not any(path.exists() for path in files)
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "ada@example.org",
        "grace@example.org",
    ]


def test_the_private_storage_is_a_folder_of_its_own_by_default(settings):
    public, private = storages["default"], storages["private"]
    assert type(private).__name__ == "FileSystemStorage"
    assert Path(private.location).resolve() == (Path(settings.VAR_DIR) / "private").resolve()
    assert Path(private.location).resolve() != Path(public.location).resolve()


@pytest.mark.slow  # starts a Django process
def test_a_private_bucket_is_configured_by_its_own_variables():
    probe = (
        "import django, json; django.setup(); from django.core.files.storage import storages; "
        "s = storages['private']; print(json.dumps([type(s).__name__, s.bucket_name, "
        "s.default_acl, s.querystring_auth, s.custom_domain]))"
    )
    env = child_env(
        STORAGE_BACKEND="storages.backends.s3.S3Storage",
        STORAGE_BUCKET="weekly-media",
        STORAGE_CUSTOM_DOMAIN="media.example.org",
        PRIVATE_STORAGE_BACKEND="storages.backends.s3.S3Storage",
        PRIVATE_STORAGE_BUCKET="weekly-lists",
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY="test-secret",
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    kind, bucket, acl, signed, domain = json.loads(result.stdout.strip().splitlines()[-1])
    assert (kind, bucket, acl, signed, domain) == (
        "S3Storage",
        "weekly-lists",
        "private",
        True,
        None,
    )


@pytest.mark.slow  # starts Django processes
@pytest.mark.parametrize(
    "place",
    [
        {"PRIVATE_ROOT": "{media}/private"},
        {"PRIVATE_ROOT": "{media}"},
        {
            "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "STORAGE_BUCKET": "weekly-media",
            "PRIVATE_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "PRIVATE_STORAGE_BUCKET": "weekly-media",
        },
    ],
)
def test_a_private_storage_inside_a_public_one_stops_even_the_demo(place, tmp_path):
    media = tmp_path / "media"
    env = {name: value.format(media=media) for name, value in place.items()}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=child_env(DEBUG="1", MEDIA_ROOT=media, **env),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "superfast.E006" in result.stderr and "PRIVATE_ROOT" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_migration_takes_earlier_uploads_out_of_public_media(
    newsletter, settings, tmp_path, migrate
):
    """Before, a list sat in public media as imports/<id>.csv: an unfinished job's file
    moves to the private storage under a random name, every other one there is deleted."""
    settings.MEDIA_ROOT = tmp_path / "media"
    old_jobs = migrate([("subscribers", "0009_drop_redundant_indexes")]).get_model(
        "subscribers", "ImportJob"
    )
    running = old_jobs.objects.create(newsletter_id=newsletter.pk, status="running")
    old_jobs.objects.filter(pk=running.pk).update(file=f"imports/{running.pk}.csv")
    default_storage.save(f"imports/{running.pk}.csv", ContentFile(LIST.encode()))
    default_storage.save("imports/999.csv", ContentFile(b"email\nleft@example.org\n"))

    migrate([("subscribers", "0010_import_lists_in_private_storage")])

    job = ImportJob.objects.get(pk=running.pk)
    assert job.file.name.startswith("imports/") and len(PurePosixPath(job.file.name).stem) >= 22
    assert private_path(job.file.name).read_text() == LIST
    assert default_storage.listdir("imports") == ([], [])
    storages["private"].delete(job.file.name)
