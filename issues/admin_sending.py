"""Sending from the admin: confirm and send or schedule, watch progress, control, report.

``IssueSendingAdminMixin`` goes first in the bases of the Issue admin; it adds the pages
below under each issue's admin URL. Every page needs the ``issues.send_issue`` permission:
editors compose, publishers send.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import delivery
from .models import DeliveryTally, Dispatch, Issue

SEND_PERMISSION = "issues.send_issue"


@dataclass
class ObjectTool:
    """A button above the issue form; ``post`` tools submit a small form (they change data)."""

    label: str
    url: str
    post: bool = False
    css_class: str = ""


class IssueSendingAdminMixin:
    """Adds send, schedule, delivery (progress and controls), progress JSON and report."""

    def get_urls(self):
        def view(func, name):
            wrapped = self.admin_site.admin_view(func)
            return path(f"<path:object_id>/{name}/", wrapped, name=self.sending_url_name(name))

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
        """The sending buttons above the issue form, for those allowed to send."""
        if not request.user.has_perm(SEND_PERMISSION):
            return []
        return [
            ObjectTool("Send now…", self.sending_url("send", obj), css_class="sf-send"),
            ObjectTool("Schedule for…", self.sending_url("schedule", obj)),
            ObjectTool("Delivery", self.sending_url("delivery", obj)),
        ]

    def sending_url_name(self, name):
        return f"{self.opts.app_label}_{self.opts.model_name}_{name}"

    def sending_url(self, name, issue):
        return reverse(f"admin:{self.sending_url_name(name)}", args=[issue.pk])

    def sending_issue(self, request, object_id) -> Issue:
        """The issue, for a user allowed to send it (403 otherwise)."""
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied("Sending needs the “Can send or schedule an issue” permission.")
        issue = Issue.objects.select_related("newsletter").filter(pk=object_id).first()
        if issue is None:
            raise Http404("No such issue.")
        return issue

    def sending_page(self, request, issue, template, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "issue": issue,
            "original": issue,
            "title": context.pop("title", str(issue)),
            "urls": {name: self.sending_url(name, issue) for name in self.sending_pages},
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[issue.pk]
            ),
            **context,
        }
        return TemplateResponse(request, f"admin/issues/{template}", context)

    sending_pages = ("send", "schedule", "delivery", "progress", "control", "report")

    def confirm_context(self, issue):
        snapshot = getattr(issue, "snapshot", None)
        return {
            "recipient_count": delivery.recipient_count(issue),
            "subject": snapshot.subject if snapshot else issue.subject,
            "active": delivery.active_dispatch(issue),
        }

    def send_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        if request.method == "POST":
            return self.start(request, issue, when=None)
        return self.sending_page(
            request,
            issue,
            "send_confirm.html",
            title=f"Send “{issue.title}” now?",
            **self.confirm_context(issue),
        )

    def schedule_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        raw = request.POST.get("when") or request.GET.get("when") or ""
        when, error = parse_when(raw) if raw else (None, "")
        if request.method == "POST" and when and not error:
            return self.start(request, issue, when=when)
        return self.sending_page(
            request,
            issue,
            "schedule_confirm.html",
            title=f"Schedule “{issue.title}”",
            when=when,
            when_raw=raw,
            error=error,
            **self.confirm_context(issue),
        )

    def start(self, request, issue, when):
        try:
            dispatch = delivery.start_dispatch(issue, user=request.user, when=when)
        except delivery.LedgerCompacted as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return redirect(self.sending_url("delivery", issue))
        if when:
            self.message_user(request, f"{issue} is scheduled for {when:%Y-%m-%d %H:%M} UTC.")
        else:
            self.message_user(request, f"Sending {issue} (dispatch {dispatch.pk}).")
        return redirect(self.sending_url("delivery", issue))

    def delivery_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        dispatch = issue.dispatches.first()
        figures = delivery.progress(dispatch) if dispatch else None
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
        return JsonResponse(delivery.progress(dispatch))

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
        return redirect(self.sending_url("delivery", issue))

    def report_view(self, request, object_id):
        issue = self.sending_issue(request, object_id)
        return self.sending_page(
            request,
            issue,
            "delivery_report.html",
            title=f"Delivery report: “{issue.title}”",
            report=delivery.report(issue),
            tally=DeliveryTally.objects.filter(issue=issue).first(),
        )


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
