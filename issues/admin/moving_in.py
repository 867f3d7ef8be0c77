"""Import from another platform, in the admin: upload, review a dry run, then import.

The upload waits in the private storage (never served) under a name made here, so the
second step names only a file this page stored. Importing publishes issues, so it takes
the send permission. The review (a dry run of the posts, and how many readers the export
holds) runs in the request; the import itself runs in a worker
(``issues.importers.platform_imports``), and its page shows posts and readers done of
their totals, polled from a small JSON endpoint (without JavaScript the page refreshes
itself), then the per-item report and a CSV of what was skipped and why.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path

from superfast.admin_pages import admin_page

from ..importers.exports import MAX_TOTAL_BYTES, ExportError
from ..importers.platform_imports import (
    STORED_NAME,
    import_progress,
    local_copy,
    review,
    start_platform_import,
    store,
)
from ..importers.platforms import PLATFORM_NAMES
from ..models import ImportedPost, Newsletter, PlatformImport
from .base import may_send

PLATFORMS = list(PLATFORM_NAMES.items())
FETCH_IMAGES_HELP = (
    "Download the pictures posts show from the old platform's servers and store them here, "
    "checked like uploads. Unticked, they keep loading from there (listed in the report)."
)


class UploadForm(forms.Form):
    platform = forms.ChoiceField(choices=PLATFORMS)
    newsletter = forms.ModelChoiceField(queryset=Newsletter.objects.all(), empty_label=None)
    export = forms.FileField(help_text="The export as the platform hands it out: a zip, "
                             "Ghost's JSON file, or a subscriber CSV.")  # fmt: skip
    fetch_images = forms.BooleanField(
        required=False, label="Fetch remote images", help_text=FETCH_IMAGES_HELP
    )

    def clean_export(self):
        upload = self.cleaned_data["export"]
        if upload.size > MAX_TOTAL_BYTES:
            raise forms.ValidationError("The export is larger than 2 GB.")
        return upload


class ImportForm(forms.Form):
    platform = forms.ChoiceField(choices=PLATFORMS)
    newsletter = forms.ModelChoiceField(queryset=Newsletter.objects.all())
    stored = forms.RegexField(regex=STORED_NAME)
    fetch_images = forms.BooleanField(required=False)


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
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="issues_importedpost_import"),
            path(
                "import/<int:import_id>/",
                view(self.import_job_view),
                name="issues_importedpost_import_job",
            ),
            path(
                "import/<int:import_id>/progress/",
                view(self.import_progress_view),
                name="issues_importedpost_import_progress",
            ),
        ] + super().get_urls()

    def import_view(self, request):
        """Step one (``review``): store the upload and show the dry run. Step two
        (``import``): queue the stored file's import and show its progress."""
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
                    report, readers = review(
                        platform, local, newsletter, fetch_images=form.cleaned_data["fetch_images"]
                    )
            except ExportError as error:
                storages["private"].delete(stored)
                form.add_error("export", str(error))
            else:
                context |= {
                    "report": report,
                    "readers": readers,
                    "confirm": ImportForm(
                        initial={
                            "platform": platform,
                            "newsletter": newsletter,
                            "stored": stored,
                            "fetch_images": form.cleaned_data["fetch_images"],
                        }
                    ),
                }
        return admin_page(self, request, "admin/issues/importedpost/import.html", **context)

    def import_stored(self, request):
        form = ImportForm(request.POST)
        if not form.is_valid():
            raise Http404("No such export.")
        stored = form.cleaned_data["stored"]
        if (
            not storages["private"].exists(stored)
            or PlatformImport.objects.filter(stored=stored).exists()
        ):
            raise Http404("This export was imported already, or discarded.")
        job = start_platform_import(
            stored,
            form.cleaned_data["platform"],
            form.cleaned_data["newsletter"],
            fetch_images=form.cleaned_data["fetch_images"],
            user=request.user,
        )
        return redirect("admin:issues_importedpost_import_job", job.pk)

    def import_job(self, request, import_id) -> PlatformImport:
        if not may_send(request):
            raise PermissionDenied
        return get_object_or_404(PlatformImport.objects.select_related("newsletter"), pk=import_id)

    def import_job_view(self, request, import_id):
        job = self.import_job(request, import_id)
        return admin_page(
            self,
            request,
            "admin/issues/importedpost/import_job.html",
            title=f"Import from {PLATFORM_NAMES.get(job.platform, job.platform)}",
            job=job,
            progress=import_progress(job),
        )

    def import_progress_view(self, request, import_id):
        return JsonResponse(import_progress(self.import_job(request, import_id)))
