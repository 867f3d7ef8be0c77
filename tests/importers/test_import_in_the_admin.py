"""Import from another platform in the admin: upload, review the dry run, import."""

import re
import zipfile
from urllib.parse import unquote

import pytest

from issues.models import Dispatch, ImportedPost, Issue

IMPORT_URL = "/admin/issues/importedpost/import/"


@pytest.mark.django_db
def test_upload_review_then_import_then_download_what_was_skipped(
    admin_client, newsletter, substack_zip
):
    assert IMPORT_URL in admin_client.get("/admin/issues/importedpost/").content.decode()
    with substack_zip.open("rb") as export:
        review = admin_client.post(
            IMPORT_URL,
            {"platform": "substack", "newsletter": newsletter.pk, "export": export,
             "step": "review"},
        )  # fmt: skip
    page = review.content.decode()
    assert "Would import from substack: 2 sent issues at their original dates, 2 drafts" in page
    assert not Issue.objects.exists()
    stored = re.search(r'name="stored" value="([^"]+)"', page)[1]

    done = admin_client.post(
        IMPORT_URL,
        {"platform": "substack", "newsletter": newsletter.pk, "stored": stored, "step": "import"},
    )
    page = done.content.decode()
    assert "Imported from substack: 2 sent issues at their original dates, 2 drafts" in page
    assert Issue.objects.filter(status=Issue.Status.SENT).count() == 2
    assert ImportedPost.objects.count() == 4 and not Dispatch.objects.exists()
    sent = Issue.objects.get(title="Models that read charts")
    assert admin_client.get(f"/admin/issues/issue/{sent.pk}/change/").status_code == 200
    skipped = unquote(re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', page)[1])
    assert "Inside the eval lab" in skipped and "for paying readers only there" in skipped

    again = admin_client.post(
        IMPORT_URL,
        {"platform": "substack", "newsletter": newsletter.pk, "stored": stored, "step": "import"},
    )
    assert again.status_code == 404  # the stored export is gone once imported


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
