"""Import from another platform in the admin: upload, review the dry run, then a worker
imports while the page shows posts and readers done of their totals."""

import re
import zipfile
from urllib.parse import unquote

import pytest

from issues.importers.platform_imports import run_platform_import
from issues.models import Dispatch, ImportedPost, Issue, PlatformImport
from subscribers.models import Subscriber
from tests.importers.conftest import export_showing
from tests.support.admin import staff
from tests.support.subscribers import finished_import

IMPORT_URL = "/admin/issues/importedpost/import/"


def review(client, newsletter, export_path, platform="substack", **fields):
    with export_path.open("rb") as export:
        return client.post(
            IMPORT_URL,
            {"platform": platform, "newsletter": newsletter.pk, "export": export,
             "step": "review", **fields},
        )  # fmt: skip


def confirmed(page: str) -> dict:
    """The hidden fields of the review's Import button, as the browser posts them."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_upload_review_then_a_worker_imports_while_the_page_shows_progress(
    admin_client, newsletter, substack_zip, worker
):
    assert IMPORT_URL in admin_client.get("/admin/issues/importedpost/").content.decode()
    page = review(admin_client, newsletter, substack_zip).content.decode()
    assert "Would import from substack: 2 sent issues at their original dates, 2 drafts" in page
    assert "9 readers in the export" in page
    assert not Issue.objects.exists() and not Subscriber.objects.exists()
    fields = confirmed(page)

    started = admin_client.post(IMPORT_URL, fields)
    job_url = started.url
    figures = finished_import(admin_client, job_url)
    assert figures["status"] == "done", figures
    assert (figures["posts_done"], figures["posts_total"]) == (4, 4)
    assert figures["readers_done"] == figures["readers_total"] == 9

    page = admin_client.get(job_url).content.decode()
    assert "http-equiv" not in page
    assert "Imported from substack: 2 sent issues at their original dates, 2 drafts" in page
    assert "Readers from Substack: 9 read" in page
    assert Issue.objects.filter(status=Issue.Status.SENT).count() == 2
    assert ImportedPost.objects.count() == 4 and not Dispatch.objects.exists()
    assert Subscriber.objects.exists()
    skipped = unquote(re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', page)[1])
    assert "Inside the eval lab" in skipped and "for paying readers only there" in skipped
    assert "asked Substack to delete their data" in skipped

    assert admin_client.post(IMPORT_URL, fields).status_code == 404  # imported once only


@pytest.mark.django_db
def test_the_fetch_images_box_makes_the_import_fetch_remote_images(
    admin_client, newsletter, tmp_path, image_host
):
    export = export_showing(tmp_path, f"{image_host.url}/img/chart")
    fields = confirmed(review(admin_client, newsletter, export, fetch_images="on").content.decode())
    assert fields["fetch_images"] == "True" and image_host.requests == []  # not in review
    job = PlatformImport.objects.get(pk=admin_client.post(IMPORT_URL, fields).url.split("/")[-2])
    assert job.fetch_images
    run_platform_import(job.pk)  # what the worker runs, here
    image = Issue.objects.get(title="Pictures").blocks.get(kind="image").data
    assert image["image"]["width"] == 800
    assert (
        "1 remote images downloaded" in admin_client.get(f"{IMPORT_URL}{job.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_the_import_page_refreshes_itself_and_is_for_those_who_may_send(client, newsletter):
    job = PlatformImport.objects.create(
        platform="substack", newsletter=newsletter, stored="x", readers_total=100_000
    )
    client.force_login(staff("writer", "view_issue", "change_issue"))
    for url in (IMPORT_URL, f"{IMPORT_URL}{job.pk}/", f"{IMPORT_URL}{job.pk}/progress/"):
        assert client.get(url).status_code == 403, url
    client.force_login(staff("sender", "view_issue", "send_issue"))
    page = client.get(f"{IMPORT_URL}{job.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page  # without JS
    assert 'id="import-posts-done" data-figure="posts_done">0<' in page
    assert 'data-figure="readers_total">100,000<' in page
    figures = client.get(f"{IMPORT_URL}{job.pk}/progress/").json()
    assert figures == {
        "status": "queued", "status_label": "Waiting for a worker", "done": False,
        "posts_done": 0, "posts_total": 0, "readers_done": 0, "readers_total": 100_000,
        "error": "",
    }  # fmt: skip


@pytest.mark.django_db
def test_a_stored_name_the_page_did_not_make_is_refused(admin_client, newsletter):
    response = admin_client.post(
        IMPORT_URL,
        {"platform": "substack", "newsletter": newsletter.pk, "stored": "../../etc/passwd",
         "step": "import"},
    )  # fmt: skip
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_hostile_upload_is_refused_on_the_form(admin_client, newsletter, tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../evil.html", "x")
    with path.open("rb") as export:
        response = admin_client.post(
            IMPORT_URL,
            {"platform": "substack", "newsletter": newsletter.pk, "export": export,
             "step": "review"},
        )  # fmt: skip
    assert "outside its folder: refused" in response.content.decode()
    assert not Issue.objects.exists()
