"""Import from another platform, in the admin: upload, review a dry run, then import.

The upload waits in the private storage (never served) under a name made here, so the
second step names only a file this page stored. Importing publishes issues, so it takes
the send permission. The import runs in the request (posts only, minutes for hundreds); the
per-item report follows, with a CSV of what was skipped and why (a download made in
the page: nothing of it stays on the server).
"""

import csv
import io
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import Http404
from django.urls import path

from superfast.admin_pages import admin_page

from ..importers.exports import MAX_TOTAL_BYTES, ExportError
from ..importers.platforms import POST_READERS
from ..importers.posts import PostsReport, import_posts
from ..models import ImportedPost, Newsletter
from .base import may_send

FOLDER = "imports"
STORED_NAME = re.compile(rf"^{FOLDER}/[0-9a-f]{{32}}\.(zip|json)$")


class UploadForm(forms.Form):
    platform = forms.ChoiceField(choices=[(name, name.capitalize()) for name in POST_READERS])
    newsletter = forms.ModelChoiceField(queryset=Newsletter.objects.all(), empty_label=None)
    export = forms.FileField(help_text="The export as the platform hands it out: a zip, or "
                             "Ghost's JSON file.")  # fmt: skip

    def clean_export(self):
        upload = self.cleaned_data["export"]
        if upload.size > MAX_TOTAL_BYTES:
            raise forms.ValidationError("The export is larger than 2 GB.")
        return upload


class ImportForm(forms.Form):
    platform = forms.ChoiceField(choices=[(name, name) for name in POST_READERS])
    newsletter = forms.ModelChoiceField(queryset=Newsletter.objects.all())
    stored = forms.RegexField(regex=STORED_NAME)


def store(upload) -> str:
    """The upload, streamed in chunks into the private storage under a name of ours."""
    suffix = "json" if upload.name.lower().endswith(".json") else "zip"
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


def skipped_csv(report: PostsReport) -> str:
    """Every post that did not become a sent issue, with why: drafts, repeats, failures."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["platform", "id", "title", "date", "outcome", "why"])
    for outcome in report.outcomes:
        if outcome.action != "imported" or outcome.notes:
            post = outcome.post
            date = post.date.isoformat() if post.date else ""
            writer.writerow(
                [report.platform, post.external_id, post.title, date, outcome.action,
                 "; ".join(outcome.notes)]
            )  # fmt: skip
    return out.getvalue()


@admin.register(ImportedPost)
class ImportedPostAdmin(admin.ModelAdmin):
    list_display = ["platform", "external_id", "issue", "old_path", "imported_at"]
    list_filter = ["platform"]
    search_fields = ["external_id", "old_path", "issue__title"]
    list_select_related = ["issue"]
    change_list_template = "admin/issues/importedpost/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "issues.view_issue"
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="issues_importedpost_import",
            ),
        ] + super().get_urls()

    def import_view(self, request):
        """Step one (``review``): store the upload and show the dry run. Step two
        (``import``): import the stored file for real and show the report."""
        if not may_send(request):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("step") == "import":
            return self.import_stored(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        context = {"title": "Import from another platform", "form": form}
        if request.method == "POST" and form.is_valid():
            stored = store(form.cleaned_data["export"])
            platform, newsletter = form.cleaned_data["platform"], form.cleaned_data["newsletter"]
            try:
                with local_copy(stored) as local:
                    report = import_posts(platform, local, newsletter, dry_run=True)
            except ExportError as error:
                storages["private"].delete(stored)
                form.add_error("export", str(error))
            else:
                context |= {
                    "report": report,
                    "confirm": ImportForm(
                        initial={"platform": platform, "newsletter": newsletter, "stored": stored}
                    ),
                }
        return admin_page(self, request, "admin/issues/importedpost/import.html", **context)

    def import_stored(self, request):
        form = ImportForm(request.POST)
        if not form.is_valid():
            raise Http404("No such export.")
        stored = form.cleaned_data["stored"]
        if not storages["private"].exists(stored):
            raise Http404("This export was imported already, or discarded.")
        try:
            with local_copy(stored) as local:
                report = import_posts(
                    form.cleaned_data["platform"], local, form.cleaned_data["newsletter"]
                )
        except ExportError as error:
            raise Http404(str(error)) from None
        finally:
            storages["private"].delete(stored)
        return admin_page(
            self,
            request,
            "admin/issues/importedpost/import.html",
            title="Import from another platform: done",
            report=report,
            skipped=skipped_csv(report),
        )
