"""The paste endpoint: a draft pasted into the block stream comes back as the stream's rows.

``POST /admin/issues/issue/<id>/paste/`` (``…/issue/paste/`` on "Add issue"), JSON
``{"html": …, "text": …}`` as the clipboard holds them, with the CSRF token like every admin
POST. It answers ``{"blocks": [{"kind", "fields"}], "summary", "problems", "title"}``, where
``fields`` is the kind's fields as the stream editor draws them (``kind_fields``), filled with
the block's values and named ``blocks-__prefix__-…``: paste_draft.js adds each through the
stream's own "add a block", so pasted blocks are saved and autosaved exactly as typed ones.
Nothing is stored but the pictures (checked and stored as uploads are). Editors only: the
issue's change permission (the add permission on a new issue), asked before the body is read.
"""

import json

from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse

from ..compose.blocks import get_kind
from ..compose.forms import block_part_fieldsets, kind_field_name
from ..compose.markup import ImportedBlock
from ..importers.paste import MAX_PASTE_BYTES, PasteRefused, paste_blocks
from ..models import Block, Issue
from .base import issue_for


def form_values(block: ImportedBlock) -> dict:
    return get_kind(block.kind).form_values(block.data)


def kind_fields(formset, kind: str, values: dict | None = None) -> helpers.AdminForm:
    """A new block's fields of ``kind`` (filled with its kind's form ``values``), named for the
    ``__prefix__`` the stream editor replaces: its templates, and pasted blocks."""
    initial = {kind_field_name(kind, name): value for name, value in (values or {}).items()}
    form = formset.form(
        auto_id=formset.auto_id,
        prefix=formset.add_prefix("__prefix__"),
        initial={"kind": kind, **initial},
        empty_permitted=True,
        use_required_attribute=False,
        **formset.get_form_kwargs(None),
        renderer=formset.renderer,
    )
    return helpers.AdminForm(form, block_part_fieldsets(kind), {})


class PasteAdminMixin:
    def get_urls(self):
        view = self.admin_site.admin_view(self.paste_view)
        own = [
            path("paste/", view, name="issues_issue_paste"),
            path("<int:pk>/paste/", view, name="issues_issue_paste"),
        ]
        return own + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """Where paste_draft.js posts a paste, on the pages of editors who may add blocks."""
        may = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        if may:
            context["paste"] = {
                "url": reverse("admin:issues_issue_paste", args=[obj.pk] if obj else []),
                "max_bytes": MAX_PASTE_BYTES,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def paste_view(self, request, pk=None):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if pk is None:
            if not self.has_add_permission(request):
                raise PermissionDenied
            issue = None
        else:
            issue = issue_for(self, request, pk, "change")
        inline = self.block_inline(request, issue)
        if inline is None or not inline.has_add_permission(request, issue):
            raise PermissionDenied("Pasting adds blocks: it needs the permission to add blocks.")
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_PASTE_BYTES + 1000:
            size = int(request.META["CONTENT_LENGTH"]) / 1_000_000
            return JsonResponse(
                {
                    "error": f"This paste is {size:.1f} MB; at most "
                    f"{MAX_PASTE_BYTES // 1_000_000} MB is turned into blocks at once. "
                    "Paste the draft in parts."
                },
                status=413,
            )
        try:
            posted = json.loads(request.body)
            html, text = str(posted.get("html") or ""), str(posted.get("text") or "")
        except (ValueError, AttributeError):
            return JsonResponse({"error": "Post the clipboard as JSON: html and text."}, status=400)
        try:
            pasted = paste_blocks(html, text)
        except PasteRefused as refusal:
            return JsonResponse({"error": str(refusal)}, status=400)
        formset = inline.get_formset(request, issue)(
            instance=issue or Issue(), prefix="blocks", queryset=Block.objects.none()
        )
        blocks = [
            {
                "kind": block.kind,
                "fields": render_to_string(
                    "admin/issues/issue/kind_fields.html",
                    {"fields": kind_fields(formset, block.kind, form_values(block))},
                ),
            }
            for block in pasted.blocks
        ]
        return JsonResponse(
            {
                "blocks": blocks,
                "summary": pasted.summary(),
                "problems": pasted.problems,
                "title": pasted.title,
            }
        )

    def block_inline(self, request, issue: Issue | None):
        """The stream's inline, if the user may see it (Django leaves it out otherwise)."""
        return next(
            (i for i in self.get_inline_instances(request, issue) if i.model is Block), None
        )
