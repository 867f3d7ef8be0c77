"""The editor's desk: issues with their block stream.

The issue change page offers object tools (preview, send test, duplicate) and, through
``IssueSendingAdminMixin``, the sending pages (send, schedule, delivery progress, report);
``IssueReportsAdminMixin`` adds a sent issue's engagement report and
``IssueRevisionsAdminMixin`` autosave, presence, history and restore. Newsletters and the
block library have their own modules.
"""

import json
import logging
from functools import cached_property

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from subscribers.services import recipients
from superfast.admin_pages import admin_page, admin_url
from superfast.estimates import row_count
from superfast.middleware import shows_issue_content

from .. import delivery, sequences
from ..archive.corrections import publish_correction
from ..archive.views import issue_context
from ..compose.editing import duplicate_as_next_issue
from ..compose.examples import example_email
from ..compose.forms import (
    BlockFormSet,
    IssueBlockForm,
    IssueForm,
    SendTestForm,
    block_part_fieldsets,
    issue_block_kinds,
)
from ..compose.preview import email_document, kept_uploads, preview_draft
from ..compose.rendering import presend_warnings, render_issue
from ..models import Block, Dispatch, Issue
from ..reports.sent import sent_per_issue
from .base import (
    BlockEditorMedia,
    allowed,
    explain_live_refusal,
    issue_for,
    may_send,
    refused_as_live,
)
from .link_previews import LinkPreviewAdminMixin
from .paste import PasteAdminMixin, kind_fields
from .reports import IssueReportsAdminMixin
from .revisions import IssueRevisionsAdminMixin
from .sending import IssueSendingAdminMixin, ObjectTool
from .sequences import WelcomeSequenceAdmin  # noqa: F401  (registers it)

logger = logging.getLogger(__name__)


BLOCK_BASE_FIELDS = ["kind", "position"]
LIBRARY_ADD_PERMISSION = "issues.add_libraryblock"


def posted_position(admin_form) -> int:
    """A bound block's position as posted; one without (no kind chosen yet) goes last."""
    posted = str(admin_form.form["position"].value() or "")
    return int(posted) if posted.isdigit() else 10**9


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
        """The blocks on the page (a new block the editor removed is gone), in the order the
        editor left them: a form that comes back (with errors, or as a draft) shows each block
        at its posted position, not in the order the formset numbers them."""
        forms = self.admin_forms[:-1] if self.has_add_permission else self.admin_forms
        shown = [f for f in forms if not f.form.left_out]
        if self.formset.is_bound:
            shown.sort(key=posted_position)
        return shown

    def empty_block(self):
        return self.admin_forms[-1] if self.has_add_permission else None

    @cached_property
    def kind_templates(self):
        """(kind, label, fields) for each kind a block can take, named for a new block."""
        return [
            (name, label, kind_fields(self.formset, name)) for name, label in issue_block_kinds()
        ]


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

    def get_formset(self, request, obj=None, **kwargs):
        """ "Save to library as" adds to the library: only with the library's add permission."""
        formset = super().get_formset(request, obj, **kwargs)
        formset.may_save_to_library = request.user.has_perm(LIBRARY_ADD_PERMISSION)
        return formset


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
    IssueReportsAdminMixin,
    IssueRevisionsAdminMixin,
    IssueSendingAdminMixin,
    LinkPreviewAdminMixin,
    PasteAdminMixin,
    admin.ModelAdmin,
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
        js = [
            *BlockEditorMedia.js,
            "issues/live_preview.js",
            "issues/link_previews.js",
            "issues/paste_draft.js",
        ]

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
        """A live welcome email takes what sending takes (change and send): saving it sends
        the new version to the next new readers (``sequences.is_live``)."""
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and sequences.is_live(obj):
            return may_send(request)
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
            ObjectTool("Preview", admin_url(obj, "preview")),
            *(
                [ObjectTool("Send test", admin_url(obj, "send_test"))]
                if allowed(self, request, obj, "change_and_send")
                else []
            ),
            ObjectTool("Duplicate as next issue", admin_url(obj, "duplicate"), post=True),
            *self.sending_tools(request, obj),
        ]
        if obj.status != Issue.Status.SENT:
            return tools
        tools.insert(1, ObjectTool("Report", admin_url(obj, "engagement")))
        if delivery.sent_to_part_only(obj):
            sending_again = set()
        else:
            sending_again = {admin_url(obj, "send"), admin_url(obj, "schedule")}
        tools = [tool for tool in tools if tool.url not in sending_again]
        if allowed(self, request, obj, "change_and_send"):
            correct = admin_url(obj, "correct_web")
            tools.append(
                ObjectTool("Correct the web version", correct, post=True, form="issue_form")
            )
        return tools

    def welcome_email_tools(self, request, obj) -> list[ObjectTool]:
        """A welcome email is sent by its sequence: preview, test, and the way back to it."""
        tools = [ObjectTool("Preview", admin_url(obj, "preview"))]
        if allowed(self, request, obj, "change_and_send"):
            tools.append(ObjectTool("Send test", admin_url(obj, "send_test")))
        step = getattr(obj, "sequence_step", None)
        if step is not None:
            url = admin_url(step.sequence)
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
            "public_url": issue.get_absolute_url() if issue.is_public else "",
            "report_url": admin_url(issue, "engagement"),
            "delivery_report_url": (admin_url(issue, "report") if may_send(request) else ""),
            "web_updated_at": getattr(getattr(issue, "snapshot", None), "web_updated_at", None),
        }

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

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The live preview needs the width the navigation sidebar would take.
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        issue = Issue.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if issue is not None and refused_as_live(request, issue):
            explain_live_refusal(self, request, "live_welcome")
        if issue is not None:
            extra_context["object_tools"] = self.get_object_tools(request, issue)
            if issue.status != Issue.Status.SENT:
                extra_context["presend_warnings"] = safe_presend_warnings(issue)
        return super().change_view(request, object_id, form_url, extra_context)

    def preview_view(self, request, pk):
        issue = issue_for(self, request, pk)
        return admin_page(
            self,
            request,
            "admin/issues/issue/preview.html",
            issue,
            is_nav_sidebar_enabled=False,  # the frames need the width
            title=f"Preview: {issue}",
            issue=issue,
            rendered=render_issue(issue),
            channels={
                channel: admin_url(issue, "preview_channel", channel)
                for channel in ("web", "email", "text")
            },
        )

    @shows_issue_content
    def preview_channel_view(self, request, pk, channel):
        issue = issue_for(self, request, pk)
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

    @shows_issue_content
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
            issue = obj = issue_for(self, request, pk, "change")
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=issue)
        inline = next(
            i for i in self.get_inline_instances(request, obj) if isinstance(i, BlockInline)
        )
        formset = inline.get_formset(request, obj)(
            request.POST,
            request.FILES,
            instance=issue,
            prefix="blocks",
            queryset=inline.get_queryset(request),
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
        response["X-Blocks-Left-Out"] = str(preview.left_out if preview else 0)
        response["X-Kept-Images"] = json.dumps(kept_uploads(formset))
        return response

    def send_test_view(self, request, pk):
        """Test copies are mail sent in the site's name: editors who may change the issue
        and send it (not everyone who may look at it)."""
        issue = issue_for(self, request, pk, "change_and_send")
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
                return redirect(admin_url(issue))
        page = admin_page(
            self,
            request,
            "admin/issues/issue/send_test.html",
            issue,
            title=f"Send a test of {issue}",
            issue=issue,
            form=form,
        )
        page.status_code = status
        return page

    def duplicate_view(self, request, pk):
        issue = issue_for(self, request, pk)
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect(admin_url(issue))
        copy = duplicate_as_next_issue(issue, author=request.user)
        self.message_user(request, f"Created draft {copy} from {issue}.", messages.SUCCESS)
        return redirect(admin_url(copy))

    def correct_web_view(self, request, pk):
        """Correcting a sent issue's web version changes a published page at once, with no
        further step: it takes what sending takes (change and send), not change alone.

        The button posts the whole issue form here, so what is corrected is what the editor
        sees: the form is saved first, exactly as "Save" saves it (validation, version
        check; an invalid or stale form comes back as the change page does, nothing lost,
        nothing corrected). A POST without the form (a script) corrects from the saved
        blocks.
        """
        issue = issue_for(self, request, pk, "change_and_send")
        if request.method != "POST":
            return redirect(admin_url(issue))
        if ISSUE_FORM_MARKER in request.POST:
            response = self.change_view(request, str(issue.pk), form_url=admin_url(issue))
            if not saved_since(issue):
                return response
            issue = issue_for(self, request, pk, "change_and_send")
        try:
            publish_correction(issue)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                "The web version now shows the issue as it stands, marked “Updated”. "
                "The email that was sent is unchanged.",
                messages.SUCCESS,
            )
        return redirect(admin_url(issue))


# A field every posted issue form carries (its block stream's management form): present,
# the POST is the form to save before correcting; absent, a script asks to correct only.
ISSUE_FORM_MARKER = "blocks-TOTAL_FORMS"


def saved_since(issue: Issue) -> bool:
    """Whether a save went through since ``issue`` was loaded: every save raises the version."""
    return Issue.objects.filter(pk=issue.pk, version__gt=issue.version).exists()
