"""Sending from the admin: confirm and send or schedule, watch progress, control, report.

``IssueSendingAdminMixin`` goes first in the bases of the Issue admin; it adds the pages
below under each issue's admin URL. Every page needs the ``issues.send_issue`` permission:
editors compose, publishers send.
"""

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from subscribers.models import Segment, Tag
from superfast.admin_pages import admin_page, admin_url

from .. import delivery
from ..delivery.message import decided_subject
from ..delivery.subject_tests import SubjectTestRefused, SubjectTestSetup, validate_setup
from ..models import DeliveryTally, Dispatch, Issue
from ..models.subject_tests import MAX_SUBJECTS
from ..reports import delivery as delivery_reports
from .base import issue_for, may_send
from .durations import parse_delay


@dataclass
class ObjectTool:
    """A button above the issue form; ``post`` tools submit a small form (they change data),
    or the page's ``form``."""

    label: str
    url: str
    post: bool = False
    css_class: str = ""
    # The id of a form on the page the button submits to ``url`` (its own form otherwise):
    # "Correct the web version" sends the issue form as it stands, unsaved edits included.
    form: str = ""


class IssueSendingAdminMixin:
    """Adds send, schedule, delivery (progress and controls), progress JSON and report."""

    def get_urls(self):
        def view(func, name):
            wrapped = self.admin_site.admin_view(func)
            url_name = f"{self.opts.app_label}_{self.opts.model_name}_{name}"
            return path(f"<path:object_id>/{name}/", wrapped, name=url_name)

        return [
            view(self.send_view, "send"),
            view(self.schedule_view, "schedule"),
            view(self.delivery_view, "delivery"),
            view(self.progress_view, "progress"),
            view(self.control_view, "control"),
            view(self.report_view, "report"),
            *super().get_urls(),
        ]

    def sending_tools(self, request, obj) -> list[ObjectTool]:
        """The sending buttons above the issue form, for those allowed to send.

        An issue sent only to a segment or tag offers to send to the rest of the list.
        """
        if not may_send(request):
            return []
        if delivery.sent_to_part_only(obj):
            return [
                ObjectTool("Send to the rest…", admin_url(obj, "send"), css_class="sf-send"),
                ObjectTool("Schedule the rest…", admin_url(obj, "schedule")),
                ObjectTool("Delivery", admin_url(obj, "delivery")),
            ]
        return [
            ObjectTool("Send now…", admin_url(obj, "send"), css_class="sf-send"),
            ObjectTool("Schedule for…", admin_url(obj, "schedule")),
            ObjectTool("Delivery", admin_url(obj, "delivery")),
        ]

    def sending_issue(self, request, object_id) -> Issue:
        """The issue, for a user allowed to send it (403 otherwise)."""
        issue = issue_for(self, request, object_id, "send")
        if not issue.is_published_kind:
            raise Http404("A welcome email is sent by its welcome sequence, not on its own.")
        return issue

    def sending_page(self, request, issue, template, **context):
        return admin_page(
            self,
            request,
            f"admin/issues/{template}",
            issue,
            issue=issue,
            title=context.pop("title", str(issue)),
            urls={name: admin_url(issue, name) for name in self.sending_pages},
            **context,
        )

    sending_pages = ("send", "schedule", "delivery", "progress", "control", "report")

    def confirm_context(self, issue, audience: "AudienceForm"):
        """The facts the confirmation pages show: who gets what, and how many of them.

        The count is of the audience the page will post (the chosen one, once valid), so
        the editor confirms the figure and the segment that are actually sent to.
        """
        snapshot = getattr(issue, "snapshot", None)
        chosen, error = audience.chosen()
        count = None
        if not error:
            try:
                count = delivery.recipient_count(issue, **chosen)
            except ValidationError as invalid:
                error = " ".join(invalid.messages)
        return {
            "audience": audience,
            "audience_label": audience.label(),
            "audience_value": audience.data.get("audience", ""),
            "audience_error": error,
            "recipient_count": count,
            "sent_to_part": delivery.sent_to_part_only(issue),
            # After a subject test on part of the list, the rest gets the winner.
            "subject": decided_subject(issue.pk)
            or (snapshot.subject if snapshot else issue.subject),
            "active": delivery.active_dispatch(issue),
        }

    def send_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        audience = AudienceForm(issue, request.POST if request.method == "POST" else request.GET)
        context = self.confirm_context(issue, audience)
        test_error, posted = "", {}
        if request.method == "POST" and not context["audience_error"]:
            posted = request.POST
            try:
                setup = subject_test_from(issue, context["subject"], request.POST)
            except SubjectTestRefused as refusal:
                test_error = str(refusal)
            else:
                return self.start(request, issue, when=None, audience=audience, subject_test=setup)
        response = self.sending_page(
            request,
            issue,
            "send_confirm.html",
            title=f"Send “{issue.title}” now?",
            test_error=test_error,
            test_form=subject_test_fields(issue, posted),
            **context,
        )
        response.status_code = 400 if test_error else 200
        return response

    def schedule_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        params = request.POST if request.method == "POST" else request.GET
        raw = params.get("when") or ""
        when, error = parse_when(raw) if raw else (None, "")
        audience = AudienceForm(issue, params)
        context = self.confirm_context(issue, audience)
        if request.method == "POST" and when and not error and not context["audience_error"]:
            return self.start(request, issue, when=when, audience=audience)
        return self.sending_page(
            request,
            issue,
            "schedule_confirm.html",
            title=f"Schedule “{issue.title}”",
            when=when,
            when_raw=raw,
            error=error,
            **context,
        )

    def start(self, request, issue, when, audience: "AudienceForm", subject_test=None):
        chosen, _ = audience.chosen()
        try:
            dispatch = delivery.start_dispatch(
                issue, user=request.user, when=when, subject_test=subject_test, **chosen
            )
        except delivery.LedgerCompacted as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return redirect(admin_url(issue, "delivery"))
        to = f" to the {dispatch.audience_label}" if dispatch.segment_id or dispatch.tag_id else ""
        if subject_test:
            self.message_user(
                request,
                f"Testing {len(subject_test.subjects)} subjects on "
                f"{subject_test.test_percent}% of the {dispatch.audience_label}; "
                "the rest gets the winner.",
            )
        if when:
            self.message_user(request, f"{issue} is scheduled{to} for {when:%Y-%m-%d %H:%M} UTC.")
        else:
            self.message_user(request, f"Sending {issue}{to} (dispatch {dispatch.pk}).")
        return redirect(admin_url(issue, "delivery"))

    def delivery_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        dispatch = issue.dispatches.first()
        figures = delivery_reports.progress(dispatch) if dispatch else None
        return self.sending_page(
            request,
            issue,
            "delivery.html",
            title=f"Delivery of “{issue.title}”",
            dispatch=dispatch,
            progress=figures,
            duration=human_duration(figures["duration_seconds"]) if figures else "",
        )

    def progress_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        dispatch = issue.dispatches.first()
        if dispatch is None:
            raise Http404("This issue was never sent.")
        return JsonResponse(delivery_reports.progress(dispatch))

    def control_view(self, request, object_id):
        return require_POST(self.control)(request, object_id)

    def control(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        dispatch = issue.dispatches.first()
        actions = {
            "pause": (delivery.pause, "Paused: no new batch will start."),
            "resume": (delivery.resume, "Resumed: sending what is still pending."),
            "cancel": (delivery.cancel, "Cancelled: nothing more will be sent."),
            "retry": (delivery.retry_failed, "Failed deliveries are queued again."),
        }
        action = actions.get(request.POST.get("action", ""))
        if dispatch is None or action is None:
            raise Http404("Nothing to control.")
        func, done = action
        if func(dispatch):
            self.message_user(request, done)
        else:
            self.message_user(
                request,
                "Nothing changed: the dispatch was not in a state for that.",
                messages.WARNING,
            )
        return redirect(admin_url(issue, "delivery"))

    def report_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        return self.sending_page(
            request,
            issue,
            "delivery_report.html",
            title=f"Delivery report: “{issue.title}”",
            report=delivery_reports.report(issue),
            tally=DeliveryTally.objects.filter(issue=issue).first(),
        )


class AudienceForm(forms.Form):
    """Everyone, one segment or one tag: the confirmation pages' choice of recipients.

    Offered are the segments of the issue's newsletter (and those for any newsletter) and
    every tag; anything else posted (a forged id, another newsletter's segment) is refused.
    """

    EVERYONE = ""

    audience = forms.ChoiceField(required=False, label="Send to")

    def __init__(self, issue: Issue, data):
        super().__init__(data={"audience": data.get("audience", self.EVERYONE)})
        self.segments = {
            f"segment:{segment.pk}": segment
            for segment in Segment.objects.filter(
                Q(newsletter__isnull=True) | Q(newsletter_id=issue.newsletter_id)
            )
        }
        self.tags = {f"tag:{tag.pk}": tag for tag in Tag.objects.all()}
        rest = delivery.sent_to_part_only(issue)
        self.fields["audience"].choices = [
            (self.EVERYONE, "Everyone not sent this issue yet" if rest else "Everyone"),
            ("Segments", [(key, str(segment)) for key, segment in self.segments.items()]),
            ("Tags", [(key, str(tag)) for key, tag in self.tags.items()]),
        ]

    def chosen(self) -> tuple[dict, str]:
        """``({"segment": ...} or {"tag": ...} or {}, error)`` for ``start_dispatch``."""
        if not self.is_valid():
            return {}, "Choose everyone, one of the segments or one of the tags listed."
        value = self.cleaned_data["audience"]
        if value in self.segments:
            return {"segment": self.segments[value]}, ""
        if value in self.tags:
            return {"tag": self.tags[value]}, ""
        return {}, ""

    def label(self) -> str:
        chosen, error = self.chosen()
        if error:
            return ""
        if "segment" in chosen:
            return f"the segment “{chosen['segment']}”"
        if "tag" in chosen:
            return f"subscribers tagged “{chosen['tag']}”"
        return "everyone"


def subject_test_from(issue: Issue, subject: str, posted) -> SubjectTestSetup | None:
    """The A/B setup of the confirmation form; None when no other subject was given.

    Subject A is the issue's own; the form posts the others as ``subject`` fields.
    """
    others = [s for s in posted.getlist("subject") if s.strip()]
    if not others:
        return None
    try:
        percent = int(posted.get("test_percent", ""))
    except ValueError:
        raise SubjectTestRefused("The test group is a whole percentage, e.g. 20.") from None
    try:
        wait = parse_delay(posted.get("test_wait", ""))
    except ValueError as error:
        raise SubjectTestRefused(f"The wait: {error}") from None
    return validate_setup(issue, [subject, *others], percent, wait, posted.get("test_criterion"))


def subject_test_fields(issue: Issue, posted) -> dict:
    """What the form shows: the editor's input when it comes back with an error."""
    others = posted.getlist("subject") if posted else []
    return {
        "others": [*others, "", "", ""][: MAX_SUBJECTS - 1],
        "test_percent": posted.get("test_percent", "20") if posted else "20",
        "test_wait": posted.get("test_wait", "4 hours") if posted else "4 hours",
        "criterion": posted.get("test_criterion", "clicks") if posted else "clicks",
        "opens_measured": issue.newsletter.track_opens,
        "letters": "BCD",
    }


def human_duration(seconds: float | None) -> str:
    """``8.1 s``, ``2 min 5 s``, ``1 h 4 min``: how long a finished send took."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def parse_when(raw: str) -> tuple[datetime | None, str]:
    """A ``datetime-local`` value, read in the site's time zone; (when, error)."""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None, f"“{raw}” is not a date and time."
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when <= timezone.now():
        return None, "Pick a time in the future, or use “Send now”."
    return when, ""


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    """Every dispatch, read-only: created and steered from the issue's delivery page."""

    list_display = ["issue", "status", "planned_count", "scheduled_for", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Dispatch._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
