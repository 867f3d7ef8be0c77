"""The welcome sequence in the admin: its steps with their delays and figures, pause, resume.

Each step's email is composed in the issue editor (the step links to it); saving it there
freezes the new version for every reader not sent it yet. Pausing and resuming decide what
readers receive, so they need the permission to send issues as well as to change the
sequence.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from superfast.admin_pages import LabelledInlineFormSet, NamedWidgetPartsMixin, admin_url

from .. import sequences
from ..models import SequenceStep, WelcomeSequence
from .base import may_send
from .durations import format_delay, parse_delay


class DelayField(forms.CharField):
    """A delay typed as people say it ("2 days"). Left blank it is empty, not an error: the
    page's blank row for a new step is then unchanged, and saving the page skips it."""

    default_error_messages = {"required": "Give a delay: 0 for at once, or e.g. “2 days”."}

    def prepare_value(self, value):
        return format_delay(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        if isinstance(value, timedelta):
            return value
        if not str(value or "").strip():
            return None
        try:
            return parse_delay(str(value or ""))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class StepForm(forms.ModelForm):
    """A step: its place, its delay and, for a new one, the title of its welcome email."""

    delay = DelayField(help_text="After confirmation: 0 for at once, “2 days”, “36 hours”, “90 s”.")
    title = forms.CharField(
        max_length=200, required=False, help_text="New step: the title of its email."
    )

    class Meta:
        model = SequenceStep
        fields = ["position", "delay"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # its email's title is edited with the email
            self.fields["title"].disabled = True
            self.fields["title"].help_text = ""
            self.initial["title"] = self.instance.issue.title

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("title", "").strip():
            self.add_error("title", "Name the new step’s email.")
        return cleaned

    def save(self, commit=True):
        """An edited step saves as usual; a new one is made by ``sequences.add_step``, with its
        welcome email, at once (the admin always commits)."""
        if self.instance.pk:
            return super().save(commit)
        self.instance = sequences.add_step(
            self.instance.sequence,
            title=self.cleaned_data["title"].strip(),
            delay=self.cleaned_data["delay"],
            position=self.cleaned_data["position"],
        )
        return self.instance


class StepFormSet(LabelledInlineFormSet):
    def delete_existing(self, obj, commit=True):
        """A deleted step stops sending; its email goes too unless it already went out."""
        if commit:
            sequences.remove_step(obj)


class StepInline(admin.TabularInline):
    model = SequenceStep
    form = StepForm
    formset = StepFormSet
    extra = 1
    fields = ["position", "delay", "title", "email", "due", "sent", "failed"]
    readonly_fields = ["email", "due", "sent", "failed"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issue")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["position"].initial = (obj.steps.count() if obj else 0) + 1
        return formset

    @admin.display(description="Email")
    def email(self, step):
        if not step.pk:
            return "—"
        url = admin_url(step.issue)
        return format_html('<a href="{}">{} (edit)</a>', url, step.issue.title)

    @admin.display(description="Due")
    def due(self, step):
        return sequences.step_counts(step).due if step.pk else "—"

    @admin.display(description="Sent")
    def sent(self, step):
        return sequences.step_counts(step).sent if step.pk else "—"

    @admin.display(description="Failed")
    def failed(self, step):
        return sequences.step_counts(step).failed if step.pk else "—"


@admin.register(WelcomeSequence)
class WelcomeSequenceAdmin(NamedWidgetPartsMixin, admin.ModelAdmin):
    change_form_template = "admin/issues/welcomesequence/change_form.html"
    inlines = [StepInline]
    list_display = ["newsletter", "state", "step_count", "starts_at"]
    fields = ["newsletter", "starts_at", "state"]
    readonly_fields = ["state"]
    actions = ["pause_selected", "resume_selected"]

    def get_readonly_fields(self, request, obj=None):
        """The start decides which readers get the sequence: editors add and arrange steps,
        those who may send move it."""
        readonly = ["newsletter", "state"] if obj else ["state"]
        if not self.has_control_permission(request, obj):
            readonly.append("starts_at")
        return readonly

    @admin.display(description="State")
    def state(self, obj):
        if obj is None or obj.pk is None:
            return "Running once saved"
        return "Paused: nothing goes out" if obj.is_paused else "Running"

    @admin.display(description="Steps")
    def step_count(self, obj):
        return obj.steps.count()

    def has_control_permission(self, request, obj=None) -> bool:
        """Pausing and resuming decide what readers receive: change and send, both."""
        return self.has_change_permission(request, obj) and may_send(request)

    @admin.action(description="Pause the selected sequences", permissions=["control"])
    def pause_selected(self, request, queryset):
        paused = sum(sequences.pause_sequence(s) for s in queryset)
        self.message_user(request, f"Paused {paused} sequence(s).")

    @admin.action(description="Resume the selected sequences", permissions=["control"])
    def resume_selected(self, request, queryset):
        resumed = sum(sequences.resume_sequence(s) for s in queryset)
        self.message_user(request, f"Resumed {resumed} sequence(s).")

    def get_urls(self):
        control = self.admin_site.admin_view(require_POST(self.control_view))
        return [
            path("<int:pk>/control/", control, name="issues_welcomesequence_control"),
            *super().get_urls(),
        ]

    def control_view(self, request, pk):
        sequence = get_object_or_404(WelcomeSequence, pk=pk)
        if not self.has_control_permission(request, sequence):
            raise PermissionDenied("Pausing a sequence needs change and send permissions.")
        action = request.POST.get("action")
        if action == "pause":
            changed = sequences.pause_sequence(sequence)
            done = "Paused: no welcome email goes out until you resume."
        elif action == "resume":
            changed = sequences.resume_sequence(sequence)
            done = "Resumed: readers who came due meanwhile get their emails now."
        else:
            raise PermissionDenied("Unknown action.")
        if changed:
            self.message_user(request, done, messages.SUCCESS)
        else:
            self.message_user(request, "Nothing changed.", messages.WARNING)
        return redirect(admin_url(sequence))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        found = WelcomeSequence.objects.filter(pk=object_id) if object_id.isdigit() else None
        sequence = found.first() if found is not None else None
        if sequence and self.has_control_permission(request, sequence):
            extra_context["control_url"] = admin_url(sequence, "control")
        return super().change_view(request, object_id, form_url, extra_context)
