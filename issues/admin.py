"""The editor's desk: newsletters, issues with their block stream, the block library.

The issue change page offers object tools (preview, send test, duplicate) and, through
``IssueSendingAdminMixin``, the sending pages (send, schedule, delivery progress, report).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Func, OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.text import Truncator
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from subscribers.services import recipients

from . import delivery
from .admin_sending import SEND_PERMISSION, IssueSendingAdminMixin, ObjectTool
from .compose.editing import duplicate_as_next_issue
from .compose.forms import (
    IssueBlockForm,
    IssueForm,
    LibraryBlockForm,
    NewsletterForm,
    SendTestForm,
    kind_fieldsets,
)
from .compose.kinds import KINDS, RenderContext
from .compose.rendering import presend_warnings, render_issue
from .models import Block, Delivery, Issue, LibraryBlock, Newsletter
from .testsend import example_email
from .views import issue_context


class BlockEditorMedia:
    css = {"all": ["issues/block_stream.css"]}
    js = ["issues/block_stream.js"]


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    form = NewsletterForm
    list_display = ["name", "slug", "from_email", "issue_count"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    @admin.display(description="Issues")
    def issue_count(self, obj):
        return obj.issues.count()


class BlockInline(admin.StackedInline):
    model = Block
    form = IssueBlockForm
    extra = 0
    ordering = ["position", "id"]
    classes = ["sf-block-stream"]
    verbose_name = "block"
    verbose_name_plural = "Blocks (in reading order)"

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["kind", "library_block", "position"]}),
            *kind_fieldsets(),
            (None, {"fields": ["save_to_library_as"], "classes": ["sf-save-to-library"]}),
        ]


@admin.register(Issue)
class IssueAdmin(IssueSendingAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/issues/issue/change_form.html"
    form = IssueForm
    inlines = [BlockInline]
    list_display = ["number", "title", "newsletter", "status", "published_at", "recipient_count"]
    list_display_links = ["number", "title"]
    list_filter = ["newsletter", "status", ("published_at", admin.DateFieldListFilter)]
    search_fields = ["title", "subject"]
    list_select_related = ["newsletter"]
    readonly_fields = ["status", "published_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["newsletter", "title", "subject", "preheader", "cover_image"]}),
        (
            "Publishing",
            {
                "fields": [
                    "number",
                    "slug",
                    "author",
                    "show_in_archive",
                    "status",
                    "published_at",
                    "created_at",
                    "updated_at",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    class Media(BlockEditorMedia):
        pass

    def get_queryset(self, request):
        """Both recipient figures in the list's one query, not two more per row."""
        audience = recipients(OuterRef("newsletter_id")).order_by()
        deliveries = Delivery.objects.filter(issue=OuterRef("pk")).order_by()
        return (
            super()
            .get_queryset(request)
            .annotate(
                audience_total=Subquery(
                    audience.annotate(n=Func("pk", function="COUNT")).values("n")
                ),
                delivery_total=Subquery(
                    deliveries.annotate(n=Func("pk", function="COUNT")).values("n")
                ),
            )
        )

    @admin.display(description="Recipients")
    def recipient_count(self, obj):
        """Deliveries once it has gone out; before that, today's audience."""
        if obj.status != Issue.Status.DRAFT:
            return obj.delivery_total
        return obj.audience_total

    def view_on_site(self, obj):
        """Only sent issues have a public page."""
        return obj.get_absolute_url() if obj.is_public else None

    def save_model(self, request, obj, form, change):
        if not change and obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    # Object tools and their views --------------------------------------------------------

    def get_object_tools(self, request, obj) -> list[ObjectTool]:
        """Buttons above the change form; the sending ones only for those allowed to send."""
        return [
            ObjectTool("Preview", self.tool_url("preview", obj)),
            *(
                [ObjectTool("Send test", self.tool_url("send_test", obj))]
                if self.may_send_tests(request, obj)
                else []
            ),
            ObjectTool("Duplicate as next issue", self.tool_url("duplicate", obj), post=True),
            *self.sending_tools(request, obj),
        ]

    def tool_url(self, name, obj):
        return reverse(f"admin:issues_issue_{name}", args=[obj.pk])

    def get_urls(self):
        own = [
            path("<int:pk>/preview/", self.wrap(self.preview_view), name="issues_issue_preview"),
            path(
                "<int:pk>/preview/<str:channel>/",
                self.wrap(xframe_options_sameorigin(self.preview_channel_view)),
                name="issues_issue_preview_channel",
            ),
            path(
                "<int:pk>/send-test/", self.wrap(self.send_test_view), name="issues_issue_send_test"
            ),
            path(
                "<int:pk>/duplicate/", self.wrap(self.duplicate_view), name="issues_issue_duplicate"
            ),
        ]
        return own + super().get_urls()

    def wrap(self, view):
        return self.admin_site.admin_view(view)

    def issue_or_404(self, request, pk, *, change=False):
        issue = get_object_or_404(Issue.objects.select_related("newsletter"), pk=pk)
        allowed = self.has_change_permission if change else self.has_view_permission
        if not allowed(request, issue):
            raise PermissionDenied
        return issue

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        issue = Issue.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if issue is not None:
            extra_context["object_tools"] = self.get_object_tools(request, issue)
            if issue.status != Issue.Status.SENT:
                extra_context["presend_warnings"] = presend_warnings(issue)
        extra_context["block_kinds"] = list(KINDS.values())
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "block_kinds": list(KINDS.values())}
        return super().add_view(request, form_url, extra_context)

    def preview_view(self, request, pk):
        issue = self.issue_or_404(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,  # the frames need the width
            "title": f"Preview: {issue}",
            "issue": issue,
            "rendered": render_issue(issue),
            "opts": self.model._meta,
            "original": issue,
            "channels": {
                channel: reverse("admin:issues_issue_preview_channel", args=[issue.pk, channel])
                for channel in ("web", "email", "text")
            },
        }
        return TemplateResponse(request, "admin/issues/issue/preview.html", context)

    def preview_channel_view(self, request, pk, channel):
        issue = self.issue_or_404(request, pk)
        if channel == "web":
            # The public page itself, as staff see an issue before (or after) it is sent.
            return TemplateResponse(
                request, "archive/issue.html", issue_context(issue, preview=True)
            )
        if channel not in ("email", "text"):
            raise PermissionDenied
        email_html, text = example_email(render_issue(issue))
        if channel == "email":
            return HttpResponse(email_html)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")

    def may_send_tests(self, request, issue) -> bool:
        """Test copies are mail sent in the site's name: editors who may change the issue
        and send it (not everyone who may look at it)."""
        return self.has_change_permission(request, issue) and request.user.has_perm(SEND_PERMISSION)

    def send_test_view(self, request, pk):
        issue = self.issue_or_404(request, pk)
        if not self.may_send_tests(request, issue):
            raise PermissionDenied("Test sends need change and send permissions on issues.")
        form = SendTestForm(request.POST or None, initial={"addresses": request.user.email})
        status = 200
        if request.method == "POST" and form.is_valid():
            addresses = form.cleaned_data["addresses"]
            try:
                delivery.queue_proofs(issue, addresses, user=request.user)
            except delivery.ProofRefused as refusal:
                form.add_error("addresses", str(refusal))
                status = 429 if isinstance(refusal, delivery.ProofLimitReached) else 400
            else:
                count = ngettext("%(n)d message", "%(n)d messages", len(addresses))
                self.message_user(
                    request,
                    f"Test queued for {', '.join(addresses)} ({count % {'n': len(addresses)}}); "
                    f"the worker sends it in a moment.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:issues_issue_change", args=[issue.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send a test of {issue}",
            "issue": issue,
            "form": form,
            "opts": self.model._meta,
            "original": issue,
        }
        return TemplateResponse(
            request, "admin/issues/issue/send_test.html", context, status=status
        )

    def duplicate_view(self, request, pk):
        if request.method != "POST":
            return redirect(reverse("admin:issues_issue_change", args=[pk]))
        issue = self.issue_or_404(request, pk)
        if not self.has_add_permission(request):
            raise PermissionDenied
        copy = duplicate_as_next_issue(issue, author=request.user)
        self.message_user(request, f"Created draft {copy} from {issue}.", messages.SUCCESS)
        return redirect(reverse("admin:issues_issue_change", args=[copy.pk]))


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
        return [(None, {"fields": ["name", "kind"]}), *kind_fieldsets()]

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
            (
                (reverse("admin:issues_issue_change", args=[i.pk]), i, i.get_status_display())
                for i in issues
            ),
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id:
            block = LibraryBlock.objects.filter(pk=object_id).first()
            if block and block.placements.exists():
                extra_context["placed_in"] = self.used_in(block)
        return super().changeform_view(request, object_id, form_url, extra_context)
