"""The block library: saved blocks placed in many issues; editing one changes every issue not
yet sent."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.utils.html import format_html_join
from django.utils.text import Truncator

from superfast.admin_pages import admin_url

from .. import sequences
from ..compose.blocks import KINDS, RenderContext, kind_choices
from ..compose.forms import LibraryBlockForm, block_part_fieldsets
from ..models import LibraryBlock
from .base import BlockEditorMedia, explain_live_refusal, may_send


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.name, kind.label) for kind in KINDS.values()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(LibraryBlock)
class LibraryBlockAdmin(admin.ModelAdmin):
    form = LibraryBlockForm
    change_form_template = "issues/library_change_form.html"
    list_display = ["name", "kind_label", "summary", "used_in", "updated_at"]
    search_fields = ["name"]
    list_filter = [KindFilter]

    class Media(BlockEditorMedia):
        pass

    def get_fieldsets(self, request, obj=None):
        """Name and kind, then the chosen kind's fields (the posted kind when saving)."""
        stored = obj.kind if obj else ""
        kind = request.POST.get("kind", "") if request.method == "POST" else stored
        return [
            (None, {"fields": ["name", "kind"]}),
            *block_part_fieldsets(kind, in_issue=False),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The form adds its kind's fields itself; the admin declares only the model's."""
        return super().get_form(request, obj, change, **{**kwargs, "fields": ["name", "kind"]})

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("placements__issue")

    @admin.display(description="Kind")
    def kind_label(self, obj):
        kind = KINDS.get(obj.kind)
        return kind.label if kind else obj.kind

    @admin.display(description="Content")
    def summary(self, obj):
        """The block's opening words as readers get them in plain text."""
        kind = KINDS.get(obj.kind)
        text = kind.text(obj.data, RenderContext()) if kind else ""
        return Truncator(" ".join(text.split())).chars(90) or "—"

    @admin.display(description="Used in")
    def used_in(self, obj):
        issues = sorted({p.issue for p in obj.placements.all()}, key=lambda i: -i.number)
        if not issues:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            ((admin_url(i), i, i.get_status_display()) for i in issues),
        )

    def has_change_permission(self, request, obj=None):
        """A block a live welcome email places takes what sending takes (change and send):
        a change reaches the next new readers at once."""
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and sequences.shows_in_live_welcome_email(obj):
            return may_send(request)
        return allowed

    def change_view(self, request, object_id, form_url="", extra_context=None):
        block = LibraryBlock.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if (
            block is not None
            and super().has_change_permission(request, block)
            and not self.has_change_permission(request, block)
        ):
            explain_live_refusal(self, request, "live_library_block")
        return super().change_view(request, object_id, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["kind_templates"] = [
            (
                name,
                label,
                helpers.AdminForm(
                    LibraryBlockForm(initial={"kind": name}),
                    block_part_fieldsets(name, in_issue=False),
                    {},
                ),
            )
            for name, label in kind_choices()
        ]
        if object_id:
            block = LibraryBlock.objects.filter(pk=object_id).first()
            if block and block.placements.exists():
                extra_context["placed_in"] = self.used_in(block)
        return super().changeform_view(request, object_id, form_url, extra_context)
