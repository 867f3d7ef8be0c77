"""Editors' view of the audience: search, filter, suppress, import and export CSV."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from . import services
from .csv_io import ImportFileError, export_csv_lines, import_csv
from .forms import ImportForm
from .models import (
    ConsentEvent,
    ErasedAddress,
    Source,
    Subscriber,
    Subscription,
    SuppressionEvent,
    Tag,
)


class SubscriberActionForm(ActionForm):
    reason = forms.CharField(
        required=False, help_text="Why (required to unsuppress).", label="Reason"
    )


class SubscriberForm(forms.ModelForm):
    class Meta:
        model = Subscriber
        fields = ["email", "name", "status", "source", "tags"]

    def clean_email(self):
        return services.normalize_email(self.cleaned_data["email"])


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["newsletter", "status", "created_at", "confirmed_at", "unsubscribed_at"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    fields = ["created_at", "action", "source", "newsletter", "campaign", "ip", "user_agent"]
    readonly_fields = fields


class SuppressionEventInline(ReadOnlyInline):
    model = SuppressionEvent
    fields = ["created_at", "kind", "esp_event", "reason"]
    readonly_fields = fields


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ["email", "name", "status", "source", "created_at"]
    list_filter = ["status", "subscriptions__newsletter", "tags", "source"]
    search_fields = ["email", "name"]
    # ``no_tracking`` is the reader's own choice, made on their preferences page.
    readonly_fields = [
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "soft_bounces",
        "no_tracking",
    ]
    fields = ["email", "name", "status", "source", "tags", *readonly_fields]
    filter_horizontal = ["tags"]
    inlines = [SubscriptionInline, SuppressionEventInline, ConsentEventInline]
    action_form = SubscriberActionForm
    actions = ["suppress_selected", "unsuppress_selected", "resend_confirmation"]
    change_list_template = "admin/subscribers/subscriber/change_list.html"
    list_per_page = 100

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="subscribers_subscriber_import",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="subscribers_subscriber_export",
            ),
        ]
        return own + super().get_urls()

    def has_export_permission(self, request):
        """Export hands out the whole audience: its own permission, not just a staff login."""
        return request.user.has_perm("subscribers.export_subscribers")

    def has_import_permission(self, request):
        """Import makes subscribers active without their opt-in: adding and changing both."""
        return request.user.has_perms(
            ["subscribers.add_subscriber", "subscribers.change_subscriber"]
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_export": self.has_export_permission(request),
            "may_import": self.has_import_permission(request),
        }
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            counts = dict(
                changelist.queryset.order_by()
                .values_list("status")
                .annotate(n=Count("pk", distinct=True))
            )
            response.context_data["status_counts"] = [
                (label, counts.get(value, 0)) for value, label in Subscriber.Status.choices
            ]
            response.context_data["export_query"] = request.GET.urlencode()
        return response

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = Source.ADMIN
        super().save_model(request, obj, form, change)
        if not change:
            services.record(obj, ConsentEvent.Action.SUBSCRIBE, Source.ADMIN)

    @admin.action(description="Suppress selected subscribers (no more mail)")
    def suppress_selected(self, request, queryset):
        reason = request.POST.get("reason", "").strip() or f"by {request.user}"
        for subscriber in queryset:
            services.suppress(subscriber, SuppressionEvent.Kind.MANUAL, reason=reason)
        self.message_user(request, f"Suppressed {queryset.count()} subscribers.")

    @admin.action(description="Unsuppress selected subscribers (give a reason)")
    def unsuppress_selected(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason to unsuppress.", messages.ERROR)
            return
        lifted = 0
        for subscriber in queryset:
            before = subscriber.status
            after = services.unsuppress(subscriber, reason=f"{reason} (by {request.user})")
            lifted += after.status != before
        self.message_user(request, f"Unsuppressed {lifted} subscribers.")

    @admin.action(description="Resend the confirmation mail")
    def resend_confirmation(self, request, queryset):
        sent = sum(services.resend_confirmation(s) for s in queryset)
        self.message_user(request, f"Queued {sent} confirmation mails (only pending subscribers).")

    def export_view(self, request):
        """The changelist as CSV, with the same filters and search as on screen."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        response = StreamingHttpResponse(
            export_csv_lines(queryset.distinct()), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        return response

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                report = import_csv(
                    form.cleaned_data["file"].read(), form.cleaned_data["newsletter"]
                )
            except (ImportFileError, ValidationError) as error:
                form.add_error("file", str(error))
            else:
                self.message_user(request, report.summary())
                if not report.rejected:
                    return redirect(reverse("admin:subscribers_subscriber_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import subscribers from CSV",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/subscribers/subscriber/import.html", context)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(ErasedAddress)
class ErasedAddressAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
