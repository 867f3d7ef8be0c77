"""The editor's desk: newsletters, issues with their block stream, the block library.

The issue change page offers object tools (preview, send test, duplicate) and, through
``IssueSendingAdminMixin``, the sending pages (send, schedule, delivery progress, report);
``IssueReportsAdminMixin`` adds a sent issue's engagement report and
``NewsletterDashboardAdminMixin`` each newsletter's dashboard.
"""

import logging
from functools import cached_property

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.text import Truncator
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from subscribers.services import recipients
from superfast.estimates import row_count

from .. import delivery, sequences
from ..archive.views import issue_context
from ..compose.blocks import KINDS, RenderContext, kind_choices
from ..compose.corrections import correct_web_version
from ..compose.editing import duplicate_as_next_issue
from ..compose.examples import example_email
from ..compose.forms import (
    ENGAGEMENT_FIELDS,
    BlockFormSet,
    IssueBlockForm,
    IssueForm,
    LibraryBlockForm,
    NewsletterForm,
    SendTestForm,
    block_part_fieldsets,
    issue_block_kinds,
)
from ..compose.preview import email_document, preview_draft
from ..compose.rendering import presend_warnings, render_issue
from ..models import Block, Dispatch, Issue, LibraryBlock, Newsletter
from ..reports.sent import sent_per_issue
from .reports import IssueReportsAdminMixin, NewsletterDashboardAdminMixin
from .revisions import IssueRevisionsAdminMixin
from .sending import SEND_PERMISSION, IssueSendingAdminMixin, ObjectTool
from .sequences import WelcomeSequenceAdmin  # noqa: F401  (registers it)

logger = logging.getLogger(__name__)


class BlockEditorMedia:
    css = {"all": ["issues/block_stream.css"]}
    js = ["issues/block_stream.js", "issues/item_rows.js"]


@admin.register(Newsletter)
class NewsletterAdmin(NewsletterDashboardAdminMixin, admin.ModelAdmin):
    form = NewsletterForm
    change_form_template = "admin/issues/newsletter/change_form.html"
    list_display = ["name", "slug", "from_email", "issue_count", "dashboard_link"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    fieldsets = [
        (None, {"fields": [f for f in NewsletterForm.Meta.fields if f not in ENGAGEMENT_FIELDS]}),
        (
            "Engagement",
            {
                "fields": ENGAGEMENT_FIELDS,
                "description": "What the reports may measure about readers of this newsletter.",
            },
        ),
    ]

    @admin.display(description="Issues")
    def issue_count(self, obj):
        return obj.issues.count()


BLOCK_BASE_FIELDS = ["kind", "position"]


class BlockStreamAdminFormSet(helpers.InlineAdminFormSet):
    """The block inline as the stream editor shows it: each block with its own kind's fields.

    The empty block and every kind's fields are rendered once, as ``<template>`` elements the
    editor's script clones to add a block or change a block's kind.
    """

    def __iter__(self):
        for admin_form in super().__iter__():
            admin_form.fieldsets = [
                (None, {"fields": BLOCK_BASE_FIELDS}),
                *block_part_fieldsets(admin_form.form.kind_name),
            ]
            yield admin_form

    @cached_property
    def admin_forms(self):
        return list(self)

    @property
    def media(self):
        """The media of one block of each kind: a block's widgets, so its media, follow from
        its kind. The admin's own property sums every block's, which cost a 100-block page a
        tenth of its time for the same result."""
        media = self.opts.media + self.formset.media
        kinds_seen = set()
        for admin_form in self.admin_forms:
            if admin_form.form.kind_name not in kinds_seen:
                kinds_seen.add(admin_form.form.kind_name)
                media += admin_form.media
        return media

    def blocks(self):
        """The blocks on the page (a new block the editor removed is gone)."""
        forms = self.admin_forms[:-1] if self.has_add_permission else self.admin_forms
        return [f for f in forms if not f.form.left_out]

    def empty_block(self):
        return self.admin_forms[-1] if self.has_add_permission else None

    @cached_property
    def kind_templates(self):
        """(kind, label, fields) for each kind a block can take, named for a new block."""
        formset = self.formset
        templates = []
        for name, label in issue_block_kinds():
            form = formset.form(
                auto_id=formset.auto_id,
                prefix=formset.add_prefix("__prefix__"),
                initial={"kind": name},
                empty_permitted=True,
                use_required_attribute=False,
                **formset.get_form_kwargs(None),
                renderer=formset.renderer,
            )
            fieldsets = block_part_fieldsets(name)
            templates.append((name, label, helpers.AdminForm(form, fieldsets, {})))
        return templates


class BlockInline(admin.StackedInline):
    model = Block
    form = IssueBlockForm
    formset = BlockFormSet
    template = "admin/issues/issue/block_stream.html"
    extra = 0
    ordering = ["position", "id"]
    classes = ["sf-block-stream"]
    verbose_name = "block"
    verbose_name_plural = "Blocks (in reading order)"

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": BLOCK_BASE_FIELDS})]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("library_block")


def safe_presend_warnings(issue: Issue) -> list[str]:
    """The pre-send warnings; a check that fails itself becomes one more warning.

    The change page is where an editor repairs what broke a check: it must always open.
    """
    try:
        return presend_warnings(issue)
    except Exception:
        logger.exception("Pre-send checks failed for issue %s", issue.pk)
        return ["The pre-send checks could not run on this issue; preview it before sending."]


class IssueKindFilter(admin.SimpleListFilter):
    """Issues by default; welcome emails (composed here, sent by their sequence) on request."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(Issue.Kind.WELCOME, "Welcome emails")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Issues",
        }
        yield from list(super().choices(changelist))[1:]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value() or Issue.Kind.ISSUE)


@admin.register(Issue)
class IssueAdmin(
    IssueReportsAdminMixin, IssueRevisionsAdminMixin, IssueSendingAdminMixin, admin.ModelAdmin
):
    change_form_template = "admin/issues/issue/change_form.html"
    form = IssueForm
    inlines = [BlockInline]
    list_display = ["number", "title", "newsletter", "status", "published_at", "recipient_count"]
    list_display_links = ["number", "title"]
    list_filter = [
        IssueKindFilter,
        "newsletter",
        "status",
        ("published_at", admin.DateFieldListFilter),
    ]
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
        js = [*BlockEditorMedia.js, "issues/live_preview.js"]

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        """The block inline rendered as the stream editor (see ``BlockStreamAdminFormSet``)."""
        admin_formsets = super().get_inline_formsets(request, formsets, inline_instances, obj)
        for admin_formset in admin_formsets:
            if isinstance(admin_formset.opts, BlockInline):
                admin_formset.__class__ = BlockStreamAdminFormSet
        return admin_formsets

    def get_queryset(self, request):
        """The recipients of a sent issue in the list's one query: what its dispatches
        planned, kept on each dispatch, never a count of the ledger's rows."""
        planned = (
            Dispatch.objects.filter(issue=OuterRef("pk"))
            .order_by()
            .values("issue")
            .annotate(total=Sum("planned_count"))
            .values("total")
        )
        return super().get_queryset(request).annotate(planned_total=Subquery(planned))

    def changelist_view(self, request, extra_context=None):
        """Each draft's audience, counted once per newsletter on the page (estimated when
        large: ``superfast.estimates``), not once per row over the whole list."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            audiences = {}
            for issue in changelist.result_list:
                if issue.status == Issue.Status.DRAFT:
                    newsletter_id = issue.newsletter_id
                    if newsletter_id not in audiences:
                        audiences[newsletter_id] = row_count(recipients(newsletter_id))
                    issue.audience_total = audiences[newsletter_id]
        return response

    @admin.display(description="Recipients")
    def recipient_count(self, obj):
        """Deliveries planned once it has gone out; before that, today's audience."""
        if obj.status != Issue.Status.DRAFT:
            return obj.planned_total or 0
        return getattr(obj, "audience_total", "")

    def view_on_site(self, obj):
        """Only sent issues have a public page."""
        return obj.get_absolute_url() if obj.is_public else None

    def has_change_permission(self, request, obj=None):
        """A welcome email already going out takes what sending takes (change and send):
        saving it sends the new version to every reader not sent it yet."""
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and sequences.is_going_out(obj):
            return request.user.has_perm(SEND_PERMISSION)
        return allowed

    def save_model(self, request, obj, form, change):
        if not change and obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    # Object tools and their views --------------------------------------------------------

    def get_object_tools(self, request, obj) -> list[ObjectTool]:
        """Buttons above the change form; the sending ones only for those allowed to send.

        A sent issue cannot be sent or scheduled again from here (unless it went only to a
        segment or tag: then the rest may follow); its web page can be corrected instead.
        """
        if not obj.is_published_kind:
            return self.welcome_email_tools(request, obj)
        tools = [
            ObjectTool("Preview", self.tool_url("preview", obj)),
            *(
                [ObjectTool("Send test", self.tool_url("send_test", obj))]
                if self.may_send_tests(request, obj)
                else []
            ),
            ObjectTool("Duplicate as next issue", self.tool_url("duplicate", obj), post=True),
            *self.sending_tools(request, obj),
        ]
        if obj.status != Issue.Status.SENT:
            return tools
        tools.insert(1, ObjectTool("Report", self.engagement_url(obj)))
        if delivery.sent_to_part_only(obj):
            sending_again = set()
        else:
            sending_again = {self.sending_url("send", obj), self.sending_url("schedule", obj)}
        tools = [tool for tool in tools if tool.url not in sending_again]
        if self.may_publish_corrections(request, obj):
            correct = self.tool_url("correct_web", obj)
            tools.append(ObjectTool("Correct the web version", correct, post=True))
        return tools

    def welcome_email_tools(self, request, obj) -> list[ObjectTool]:
        """A welcome email is sent by its sequence: preview, test, and the way back to it."""
        tools = [ObjectTool("Preview", self.tool_url("preview", obj))]
        if self.may_send_tests(request, obj):
            tools.append(ObjectTool("Send test", self.tool_url("send_test", obj)))
        step = getattr(obj, "sequence_step", None)
        if step is not None:
            url = reverse("admin:issues_welcomesequence_change", args=[step.sequence_id])
            tools.append(ObjectTool("Welcome sequence", url))
        return tools

    def save_related(self, request, form, formsets, change):
        """Blocks first; then a welcome email already going out is frozen again."""
        super().save_related(request, form, formsets, change)
        self.refreeze_welcome_email(request, form.instance)

    def refreeze_welcome_email(self, request, issue):
        """After a save or a restore: readers not sent this welcome email yet get this
        version."""
        if sequences.refreeze_step_email(issue):
            self.message_user(
                request,
                "Readers not sent this welcome email yet will get this version.",
                messages.INFO,
            )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == Issue.Status.SENT:
            context["sent_banner"] = self.sent_banner(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def sent_banner(self, request, issue) -> dict:
        """When a sent issue went out, to how many, and where to read it and its report.

        How many: the messages that left (a later bounce included), as the dashboard
        counts them, from what was planned less the few rows that did not leave; counting
        the rows that did would read a million of them at every look at the page.
        """
        return {
            "published_at": issue.published_at,
            "delivered": sent_per_issue([issue.pk])[issue.pk],
            "public_url": issue.get_absolute_url() if issue.show_in_archive else "",
            "report_url": self.engagement_url(issue),
            "delivery_report_url": (
                self.sending_url("report", issue) if request.user.has_perm(SEND_PERMISSION) else ""
            ),
            "web_updated_at": getattr(getattr(issue, "snapshot", None), "web_updated_at", None),
        }

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
                "live-preview/", self.wrap(self.live_preview_view), name="issues_issue_live_preview"
            ),
            path(
                "<int:pk>/live-preview/",
                self.wrap(self.live_preview_view),
                name="issues_issue_live_preview",
            ),
            path(
                "<int:pk>/duplicate/", self.wrap(self.duplicate_view), name="issues_issue_duplicate"
            ),
            path(
                "<int:pk>/correct-web/",
                self.wrap(self.correct_web_view),
                name="issues_issue_correct_web",
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

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The live preview needs the width the navigation sidebar would take.
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        issue = Issue.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if issue is not None:
            extra_context["object_tools"] = self.get_object_tools(request, issue)
            if issue.status != Issue.Status.SENT:
                extra_context["presend_warnings"] = safe_presend_warnings(issue)
        return super().change_view(request, object_id, form_url, extra_context)

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
            response = HttpResponse(email_html)
            # Editors' HTML, shown on the admin's origin: sandboxed, it can run nothing there.
            response["Content-Security-Policy"] = "sandbox"
            return response
        return HttpResponse(text, content_type="text/plain; charset=utf-8")

    def live_preview_view(self, request, pk=None):
        """The unsaved form rendered by the real renderer: ``?view=email|email-dark|web``.

        The editor's script posts the change form here as it types. The HTML goes into a
        sandboxed frame, and the response carries a CSP sandbox of its own, so nothing an
        editor writes can act on the admin's origin.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if pk is None:
            if not self.has_add_permission(request):
                raise PermissionDenied
            issue, obj = Issue(), None
        else:
            issue = obj = self.issue_or_404(request, pk, change=True)
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=issue)
        inline = next(
            i for i in self.get_inline_instances(request, obj) if isinstance(i, BlockInline)
        )
        formset = inline.get_formset(request, obj)(
            request.POST, instance=issue, prefix="blocks", queryset=inline.get_queryset(request)
        )
        preview = preview_draft(form, formset)
        view = request.GET.get("view", "email")
        if preview is None:
            html = "<!doctype html><p>Choose the newsletter to see the preview.</p>"
        elif view == "web":
            context = issue_context(preview.issue, preview=True, rendered=preview.rendered)
            html = render_to_string("archive/issue.html", context, request=request)
        else:
            html = email_document(preview.rendered, dark=view == "email-dark")
        response = HttpResponse(html)
        response["Content-Security-Policy"] = "sandbox allow-same-origin"
        response["X-Blocks-Left-Out"] = str(preview.left_out if preview else 0)
        return response

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
        issue = self.issue_or_404(request, pk)
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect(reverse("admin:issues_issue_change", args=[pk]))
        copy = duplicate_as_next_issue(issue, author=request.user)
        self.message_user(request, f"Created draft {copy} from {issue}.", messages.SUCCESS)
        return redirect(reverse("admin:issues_issue_change", args=[copy.pk]))

    def may_publish_corrections(self, request, issue) -> bool:
        """Correcting a sent issue's web version changes a published page at once, with no
        further step: it takes what sending takes (change and send), not change alone."""
        return self.has_change_permission(request, issue) and request.user.has_perm(SEND_PERMISSION)

    def correct_web_view(self, request, pk):
        issue = self.issue_or_404(request, pk, change=True)
        if not self.may_publish_corrections(request, issue):
            raise PermissionDenied("Correcting a published page needs change and send permissions.")
        if request.method != "POST":
            return redirect(reverse("admin:issues_issue_change", args=[pk]))
        try:
            correct_web_version(issue)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                "The web version now shows the issue as it stands, marked “Updated”. "
                "The email that was sent is unchanged.",
                messages.SUCCESS,
            )
        return redirect(reverse("admin:issues_issue_change", args=[issue.pk]))


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
            (
                (reverse("admin:issues_issue_change", args=[i.pk]), i, i.get_status_display())
                for i in issues
            ),
        )

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
