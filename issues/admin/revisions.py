"""Never losing work in the issue admin: drafts, presence, version checks, history, restore.

``IssueRevisionsAdminMixin`` goes in the bases of the Issue admin. It adds, under each issue's
admin URL: ``autosave/`` (the editor's script posts the whole form there as they type),
``autosave/discard/``, ``autosave/image/`` (an image chosen in a block, stored at once so the
draft can carry it), ``presence/`` (a heartbeat: who else has the issue open), and replaces
``history/`` with the issue's revisions, ``history/compare/`` and
``history/<number>/restore/``. "Add issue" autosaves too, to ``…/issue/autosave/`` (one unsaved
new issue per editor and newsletter, offered again on "Add issue"), with
``…/issue/autosave/<id>/discard/``. The work itself is done by ``issues.compose.revisions``.
"""

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone

from superfast.admin_pages import admin_page, admin_url

from ..compose import revisions, uploads
from ..compose.fields import ImageUploadField
from ..compose.images import StoredImage
from ..models import Issue, Revision
from .base import issue_for

DRAFT = "draft"  # the compare page's name for the editor's own unsaved draft


def posted_pairs(post):
    return ((name, value) for name, values in post.lists() for value in values)


def versioned_form(base: type[forms.ModelForm], draft_data=None) -> type[forms.ModelForm]:
    """``base`` carrying the version it was opened at, refusing to save over a newer one.

    ``draft_data`` binds the form to the editor's draft when the page opens, so their
    unsaved work is what they see. A form without ``based_on_version`` (a script) is not
    checked here; the save still raises the version in one atomic step.
    """

    class VersionedIssueForm(base):
        based_on_version = forms.IntegerField(
            widget=forms.HiddenInput(attrs={"class": "sf-based-on-version"}), required=False
        )

        def __init__(self, *args, **kwargs):
            if draft_data is not None and not args and "data" not in kwargs:
                kwargs.update(data=draft_data, files={})
            super().__init__(*args, **kwargs)
            if self.instance.pk:
                self.fields["based_on_version"].initial = self.instance.version

        @property
        def expected_version(self) -> int | None:
            """The version this save may replace: the one it was opened at, or the newer one
            the editor ticked to save over after seeing the conflict."""
            replace = self.data.get("replace_version", "")
            if replace.isdigit():
                return int(replace)
            return self.cleaned_data.get("based_on_version")

        def clean(self):
            cleaned = super().clean()
            expected = self.expected_version
            if self.instance.pk and expected is not None:
                current = revisions.current_version(self.instance)
                if expected != current:
                    conflict = revisions.VersionConflict(self.instance, expected)
                    self.add_error(
                        None,
                        f"Not saved: {conflict.by} saved a newer version (version "
                        f"{conflict.current}) after you opened version {expected}. See above.",
                    )
            return cleaned

    VersionedIssueForm.__name__ = base.__name__
    return VersionedIssueForm


class IssueRevisionsAdminMixin:
    """Autosave, presence, optimistic locking, revisions and restore for the issue admin."""

    @property
    def media(self):
        return super().media + forms.Media(
            js=["issues/autosave.js", "issues/stream_drop.js"],
            css={"all": ["issues/revisions.css"]},
        )

    def get_urls(self):
        def view(func, route, name):
            return path(
                f"<int:pk>/{route}", self.admin_site.admin_view(func), name=f"issues_issue_{name}"
            )

        def new_issue_view(func, route, name):
            return path(route, self.admin_site.admin_view(func), name=f"issues_issue_{name}")

        return [
            new_issue_view(self.autosave_new_view, "autosave/", "autosave_new"),
            new_issue_view(self.autosave_image_view, "autosave/image/", "autosave_image"),
            new_issue_view(
                self.discard_new_draft_view, "autosave/<int:pk>/discard/", "discard_new_draft"
            ),
            view(self.autosave_view, "autosave/", "autosave"),
            view(self.autosave_image_view, "autosave/image/", "autosave_image"),
            view(self.discard_draft_view, "autosave/discard/", "discard_draft"),
            view(self.presence_view, "presence/", "presence"),
            view(self.compare_view, "history/compare/", "compare"),
            view(self.restore_view, "history/<int:number>/restore/", "restore"),
            *super().get_urls(),
        ]

    # The change form ----------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return versioned_form(form, getattr(request, "issue_draft_data", None))

    def get_formset_kwargs(self, request, obj, inline, prefix):
        params = super().get_formset_kwargs(request, obj, inline, prefix)
        draft_data = getattr(request, "issue_draft_data", None)
        if draft_data is not None and request.method != "POST":
            params.update(data=draft_data.copy(), files={})
        return params

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            return self.add_form_view(request, form_url, extra_context)
        issue = Issue.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if issue is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        can_change = self.has_change_permission(request, issue)
        draft = revisions.draft_for(issue, request.user) if can_change else None
        if draft and request.method == "GET":
            request.issue_draft_data = revisions.draft_as_post(draft)
        else:
            draft = None
        extra_context = {
            **(extra_context or {}),
            **self.editing_context(request, issue, draft, can_change=can_change),
        }
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
        except revisions.VersionConflict as conflict:
            # Two saves raced past the form's check; this one lost. Keep its work as the
            # editor's draft, which the change page shows again with the conflict.
            self.keep_posted_draft(request, issue, based_on_version=conflict.expected)
            self.message_user(request, str(conflict), messages.ERROR)
            return redirect(admin_url(issue))
        if response.status_code == 200 and can_change:
            # The form came back with errors: its contents are the editor's latest work.
            posted = request.POST.get("based_on_version", "")
            version = int(posted) if posted.isdigit() else issue.version
            draft = self.keep_posted_draft(request, issue, based_on_version=version)
            if version != issue.version and hasattr(response, "context_data"):
                # Refused as stale: offer the comparison and the deliberate overwrite.
                response.context_data.update(
                    self.editing_context(request, issue, draft, can_change=can_change)
                )
        return response

    def add_form_view(self, request, form_url, extra_context):
        """ "Add issue": autosaved like any issue, and offering the editor's unsaved new
        issues (``?draft=<id>`` opens one in the form)."""
        can_add = self.has_add_permission(request)
        draft = None
        if can_add and request.method == "GET":
            draft = revisions.new_issue_draft(request.user, request.GET.get("draft", ""))
            if draft is not None:
                request.issue_draft_data = revisions.draft_as_post(draft)
        offers = revisions.new_issue_drafts(request.user) if can_add else []
        extra_context = {
            **(extra_context or {}),
            "editing": {
                "can_change": can_add,
                "draft": draft,
                "new_drafts": [offer for offer in offers if offer != draft],
                "autosave_url": reverse("admin:issues_issue_autosave_new"),
                "image_url": reverse("admin:issues_issue_autosave_image"),
                "discard_url": reverse("admin:issues_issue_discard_new_draft", args=[draft.pk])
                if draft
                else "",
                "saved_at": draft.saved_at.isoformat() if draft else "",
            },
        }
        response = super().changeform_view(request, None, form_url, extra_context)
        if request.method == "POST" and response.status_code == 200 and can_add:
            # The new issue came back with errors: its contents are the editor's latest work.
            self.keep_new_issue_draft(request, revisions.form_state(posted_pairs(request.POST)))
        return response

    @staticmethod
    def keep_new_issue_draft(request, data):
        newsletter = data.get("newsletter", [""])[0]
        return revisions.save_new_issue_draft(
            request.user, newsletter_id=int(newsletter) if newsletter.isdigit() else None, data=data
        )

    def keep_posted_draft(self, request, issue, *, based_on_version):
        return revisions.save_draft(
            issue,
            request.user,
            data=revisions.form_state(posted_pairs(request.POST)),
            based_on_version=based_on_version,
        )

    def editing_context(self, request, issue, draft, *, can_change) -> dict:
        latest = issue.revisions.select_related("author").first()
        conflict = draft is not None and draft.based_on_version != issue.version
        return {
            "editing": {
                "issue": issue,
                "can_change": can_change,
                "draft": draft,
                "conflict": conflict,
                "latest": latest,
                "latest_by": revisions.editor_name(latest.author)
                if latest and latest.author
                else "",
                "others": revisions.mark_present(issue.pk, request.user),
                "autosave_url": admin_url(issue, "autosave"),
                "image_url": admin_url(issue, "autosave_image"),
                "discard_url": admin_url(issue, "discard_draft"),
                "presence_url": admin_url(issue, "presence"),
                "history_url": admin_url(issue, "history"),
                "compare_draft_url": admin_url(issue, "compare")
                + f"?from={issue.version}&to={DRAFT}",
                "saved_at": (draft.saved_at if draft else issue.updated_at).isoformat(),
            }
        }

    def save_model(self, request, obj, form, change):
        if change:
            request.issue_state_before = revisions.issue_state(Issue.objects.get(pk=obj.pk))
            expected = getattr(form, "expected_version", None)
            revisions.claim_version(
                obj, expected=expected if expected is not None else revisions.current_version(obj)
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        issue = form.instance
        revisions.record_revision(
            issue, author=request.user, before=getattr(request, "issue_state_before", None)
        )
        revisions.discard_draft(issue, request.user)
        if not change:
            revisions.discard_new_issue_drafts(request.user, newsletter_id=issue.newsletter_id)

    # Drafts and presence ------------------------------------------------------------------

    @staticmethod
    def saved_at_json(draft):
        version = draft.issue.version if draft.issue else 0
        return {"saved_at": draft.saved_at.isoformat(), "version": version}

    @staticmethod
    def posted_draft(request) -> dict[str, list[str]] | HttpResponseBadRequest:
        """The form the editor's script posted as JSON ``{"fields": [[name, value]...]}``."""
        if request.method != "POST":
            return HttpResponseBadRequest("POST the form's fields.")
        try:
            pairs = json.loads(request.body)["fields"]
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS  # what saving the form accepts
            if limit is not None and len(pairs) > limit:
                return HttpResponseBadRequest(
                    f"Not saved: more than {limit} fields, more than saving the form accepts."
                )
            return revisions.form_state((str(name), str(value)) for name, value in pairs)
        except (ValueError, KeyError, TypeError):
            return HttpResponseBadRequest('Send {"fields": [[name, value], ...]} as JSON.')

    def autosave_new_view(self, request):
        """Keep the "Add issue" form as the editor's unsaved new issue of its newsletter."""
        data = self.posted_draft(request)
        if isinstance(data, HttpResponseBadRequest):
            return data
        if not self.has_add_permission(request):
            raise PermissionDenied
        return JsonResponse(self.saved_at_json(self.keep_new_issue_draft(request, data)))

    def discard_new_draft_view(self, request, pk):
        """Forget the editor's unsaved new issue ``pk`` (an autosave's id; POST)."""
        add_url = reverse("admin:issues_issue_add")
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            revisions.discard_new_issue_drafts(request.user, pk=pk)
            self.message_user(request, "Your unsaved new issue was discarded.", messages.INFO)
        return redirect(add_url)

    def autosave_image_view(self, request, pk=None):
        """Check and store an image chosen in a block at once; answer its signed reference,
        which the form then carries (in drafts too) instead of the file."""
        if request.method != "POST" or "image" not in request.FILES:
            return HttpResponseBadRequest("POST the image as the file field “image”.")
        if pk is None:
            if not self.has_add_permission(request):
                raise PermissionDenied
        else:
            issue_for(self, request, pk, "change")
        try:
            stored = StoredImage.from_data(ImageUploadField().clean(request.FILES["image"]))
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"kept": uploads.keep(stored), "url": stored.url, "name": str(stored)})

    def autosave_view(self, request, pk):
        """Keep the posted form as the editor's draft; JSON ``{"fields": [[name, value]...]}``.
        Who may change the issue is asked before the body is read: a refused editor learns
        nothing about what the view would accept."""
        if request.method != "POST":
            return HttpResponseBadRequest("POST the form's fields.")
        issue = issue_for(self, request, pk, "change")
        data = self.posted_draft(request)
        if isinstance(data, HttpResponseBadRequest):
            return data
        version = data.get("based_on_version", [""])[0]
        draft = revisions.save_draft(
            issue,
            request.user,
            data=data,
            based_on_version=int(version) if version.isdigit() else issue.version,
        )
        return JsonResponse(self.saved_at_json(draft))

    def discard_draft_view(self, request, pk):
        issue = issue_for(self, request, pk, "change")
        if request.method != "POST":
            return redirect(admin_url(issue))
        revisions.discard_draft(issue, request.user)
        self.message_user(request, "Your unsaved changes were discarded.", messages.INFO)
        return redirect(admin_url(issue))

    def presence_view(self, request, pk):
        """A heartbeat: note the editor here (or gone, with ``leave``); who else is here."""
        if request.method != "POST":
            return HttpResponseBadRequest("POST a heartbeat.")
        issue = issue_for(self, request, pk)
        if request.POST.get("leave"):
            revisions.mark_gone(issue.pk, request.user)
            return JsonResponse({"others": []})
        others = revisions.mark_present(issue.pk, request.user)
        latest = issue.revisions.select_related("author").first()
        return JsonResponse(
            {
                "others": [{"name": p.name, "since": p.since} for p in others],
                "version": issue.version,
                "saved_by": revisions.editor_name(latest.author)
                if latest and latest.author
                else "",
                "saved_at": issue.updated_at.isoformat(),
            }
        )

    # History ------------------------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        """The issue's revisions, newest first, each with compare and restore."""
        issue = issue_for(self, request, object_id)
        return admin_page(
            self,
            request,
            "admin/issues/issue/history.html",
            issue,
            title=f"History of {issue}",
            issue=issue,
            revisions=issue.revisions.select_related("author")[:200],
            can_restore=self.has_change_permission(request, issue)
            and issue.status in (Issue.Status.DRAFT, Issue.Status.SCHEDULED),
            **(extra_context or {}),
        )

    def compare_side(self, request, issue, which: str) -> tuple[str, str]:
        """(label, plain text) of revision ``which``, or of the editor's draft."""
        if which == DRAFT:
            draft = revisions.draft_for(issue, request.user)
            if draft is None:
                raise Http404("You have no unsaved draft of this issue.")
            state = revisions.draft_state(
                issue, self.bound_draft_forms(request, issue, revisions.draft_as_post(draft))
            )
            saved = timezone.localtime(draft.saved_at).strftime("%Y-%m-%d %H:%M")
            return f"Your unsaved draft ({saved})", revisions.state_text(state)
        if not which.isdigit():
            raise Http404
        revision = get_object_or_404(
            Revision.objects.select_related("author"), issue=issue, number=which
        )
        return revisions.revision_label(revision), revision.text

    def bound_draft_forms(self, request, issue, data):
        """The admin's own issue form and block formsets, bound to ``data``."""
        issue = Issue.objects.get(pk=issue.pk)  # validating writes into the instance
        form = super().get_form(request, issue, change=True)(data, {}, instance=issue)
        formsets = []
        for inline in self.get_inline_instances(request, issue):
            formset_class = inline.get_formset(request, issue)
            formsets.append(
                formset_class(
                    data=data, files={}, instance=issue, prefix=formset_class.get_default_prefix()
                )
            )
        return form, formsets

    def compare_view(self, request, pk):
        issue = issue_for(self, request, pk)
        latest = issue.revisions.values_list("number", flat=True).first() or 0
        old = request.GET.get("from", str(max(latest - 1, 1)))
        new = request.GET.get("to", str(latest))
        old_label, old_text = self.compare_side(request, issue, old)
        new_label, new_text = self.compare_side(request, issue, new)
        return admin_page(
            self,
            request,
            "admin/issues/issue/compare.html",
            issue,
            title=f"Compare versions of {issue}",
            issue=issue,
            old_label=old_label,
            new_label=new_label,
            groups=revisions.compare_texts(old_text, new_text),
            history_url=admin_url(issue, "history"),
        )

    def restore_view(self, request, pk, number):
        """Restore revision ``number`` as a new revision (POST, change permission)."""
        issue = issue_for(self, request, pk, "change")
        if request.method != "POST":
            return redirect(admin_url(issue, "history"))
        revision = get_object_or_404(Revision, issue=issue, number=number)
        try:
            restored = revisions.restore_revision(revision, author=request.user)
        except revisions.RestoreRefused as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return redirect(admin_url(issue, "history"))
        self.message_user(
            request,
            f"Restored revision {number} as revision {restored.number}.",
            messages.SUCCESS,
        )
        issue.refresh_from_db()  # the restored fields, for the welcome email frozen again
        self.refreeze_welcome_email(request, issue)
        return redirect(admin_url(issue))
