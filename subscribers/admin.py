"""Editors' view of the audience: search, filter, tag, suppress, import and export CSV, segments."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, ActionForm
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from superfast.admin_pages import LabelledInlineFormSet, admin_page, admin_url
from superfast.estimates import EstimatedCountPaginator, counts_by

from . import selectors, services
from .csv_io import export_csv_lines, rejection_csv_lines
from .forms import ImportForm, SegmentForm, TagChoiceForm
from .imports import import_progress, start_import
from .models import (
    ConsentEvent,
    ErasedAddress,
    ImportJob,
    Segment,
    Source,
    Subscriber,
    Subscription,
    SuppressionEvent,
    Tag,
)
from .segments import members, segment_members


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
    formset = LabelledInlineFormSet
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


class SegmentFilter(admin.SimpleListFilter):
    """Subscribers in a saved segment, as it stands now (the segment page links here)."""

    title = "segment"
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        segment = Segment.objects.filter(pk=self.value()).first() if self.value() else None
        if segment is None:
            return queryset
        try:
            return queryset.filter(pk__in=segment_members(segment).values("pk"))
        except ValidationError as error:
            messages.warning(
                request, f"“{segment}” cannot be evaluated: {' '.join(error.messages)}"
            )
            return queryset.none()


class SemiJoinChangeList(ChangeList):
    """The changelist, filtering across relations (newsletter, tag) with EXISTS, not DISTINCT.

    The admin makes such a list DISTINCT over every column, so counting it reads the whole
    table (at a million subscribers, a third of a second for a tag twenty thousand carry).
    An EXISTS per row lets PostgreSQL walk the list's order a page at a time, and count
    the matches from the relation's side.
    """

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        if not queryset.query.distinct:
            return queryset
        matches = queryset.filter(pk=OuterRef("pk")).order_by()
        return self.root_queryset.filter(Exists(matches)).order_by(*queryset.query.order_by)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ["email", "name", "status", "source", "created_at"]
    list_filter = ["status", "subscriptions__newsletter", "tags", SegmentFilter, "source"]
    # A prefix of the address (any case), answered by the index on UPPER(email); a name too.
    search_fields = ["^email", "^name"]
    # The list's count is estimated when large (superfast.estimates); no count of all rows.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facets count every choice of every filter over the whole list: at a million readers,
    # seconds. The status line above the list gives the counts that matter, estimated.
    show_facets = admin.ShowFacets.NEVER
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
    actions = [
        "add_tag_to_selected",
        "remove_tag_from_selected",
        "suppress_selected",
        "unsuppress_selected",
        "resend_confirmation",
    ]
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
                "import/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="subscribers_subscriber_import_job",
            ),
            path(
                "import/<int:job_id>/progress/",
                self.admin_site.admin_view(self.import_progress_view),
                name="subscribers_subscriber_import_progress",
            ),
            path(
                "import/<int:job_id>/rejections.csv",
                self.admin_site.admin_view(self.import_rejections_view),
                name="subscribers_subscriber_import_rejections",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="subscribers_subscriber_export",
            ),
        ]
        return own + super().get_urls()

    def get_changelist(self, request, **kwargs):
        return SemiJoinChangeList

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
            # Estimated like the list's own count when that is: never a count of a big table.
            counts = counts_by(
                changelist.queryset,
                "status",
                Subscriber.Status.values,
                estimated=changelist.paginator.count_is_estimate,
            )
            response.context_data["status_counts"] = [
                (label, counts[value]) for value, label in Subscriber.Status.choices
            ]
            response.context_data["export_query"] = request.GET.urlencode()
            if changelist.paginator.count_is_estimate:
                response.context_data["selection_note_all"] = (
                    f"All {changelist.paginator.row_count} selected"
                )
        return response

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = Source.ADMIN
        super().save_model(request, obj, form, change)
        if not change:
            services.record(obj, ConsentEvent.Action.SUBSCRIBE, Source.ADMIN)

    @admin.action(description="Add a tag to selected subscribers…", permissions=["change"])
    def add_tag_to_selected(self, request, queryset):
        return self.tag_selected(request, queryset, adding=True)

    @admin.action(description="Remove a tag from selected subscribers…", permissions=["change"])
    def remove_tag_from_selected(self, request, queryset):
        return self.tag_selected(request, queryset, adding=False)

    def tag_selected(self, request, queryset, *, adding: bool):
        """First a page to choose the tag; its form posts the same selection back, applied.

        With "select all", the selection is the filtered changelist, which the page keeps
        by posting to the same address (query string included).
        """
        applying = "apply" in request.POST
        form = TagChoiceForm(request.POST if applying else None, may_create=adding)
        if applying and form.is_valid():
            tag = form.chosen_tag()
            if adding:
                changed = services.add_tag(queryset, tag)
                self.message_user(request, f"Tagged {changed} subscribers “{tag}”.")
            else:
                changed = services.remove_tag(queryset, tag)
                self.message_user(request, f"Removed “{tag}” from {changed} subscribers.")
            return None
        select_across = request.POST.get("select_across") == "1"
        return admin_page(
            self,
            request,
            "admin/subscribers/subscriber/tag_action.html",
            title="Add a tag" if adding else "Remove a tag",
            form=form,
            adding=adding,
            action=request.POST.get("action", ""),
            select_across=select_across,
            # Posted back even with "select all": the admin acts only on a non-empty tick list.
            selected=request.POST.getlist(ACTION_CHECKBOX_NAME),
            action_checkbox_name=ACTION_CHECKBOX_NAME,
            count=queryset.count(),
            form_url=request.get_full_path(),
        )

    @admin.action(
        description="Suppress selected subscribers (no more mail)", permissions=["change"]
    )
    def suppress_selected(self, request, queryset):
        reason = request.POST.get("reason", "").strip() or f"by {request.user}"
        for subscriber in queryset:
            services.suppress(subscriber, SuppressionEvent.Kind.MANUAL, reason=reason)
        self.message_user(request, f"Suppressed {queryset.count()} subscribers.")

    @admin.action(
        description="Unsuppress selected subscribers (give a reason)", permissions=["change"]
    )
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

    @admin.action(description="Resend the confirmation mail", permissions=["change"])
    def resend_confirmation(self, request, queryset):
        sent = sum(services.resend_confirmation(s) for s in queryset)
        self.message_user(request, f"Queued {sent} confirmation mails (only pending subscribers).")

    def export_view(self, request):
        """The changelist as CSV, with the same filters and search as on screen.

        Rows stream in the list's order as the address index yields them. The list is
        already free of repeats (``SemiJoinChangeList`` filters across relations with
        EXISTS): a DISTINCT here would sort or hash every row before the first one left.
        """
        if not self.has_export_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).queryset
        response = StreamingHttpResponse(
            export_csv_lines(queryset), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        return response

    def import_view(self, request):
        """Upload a file; a worker imports it while the editor watches its progress."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = start_import(
                form.cleaned_data["file"], form.cleaned_data["newsletter"], user=request.user
            )
            return redirect("admin:subscribers_subscriber_import_job", job.pk)
        return admin_page(
            self,
            request,
            "admin/subscribers/subscriber/import.html",
            title="Import subscribers from CSV",
            form=form,
            recent_jobs=ImportJob.objects.select_related("newsletter")[:10],
        )

    def import_job(self, request, job_id) -> ImportJob:
        if not self.has_import_permission(request):
            raise PermissionDenied
        return get_object_or_404(ImportJob.objects.select_related("newsletter"), pk=job_id)

    def import_job_view(self, request, job_id):
        job = self.import_job(request, job_id)
        return admin_page(
            self,
            request,
            "admin/subscribers/subscriber/import_job.html",
            title=f"Import of {job.file_name or 'a CSV file'}",
            job=job,
            progress=import_progress(job),
            rejections=job.rejections.all()[:REJECTIONS_SHOWN],
            rejections_shown=REJECTIONS_SHOWN,
        )

    def import_progress_view(self, request, job_id):
        return JsonResponse(import_progress(self.import_job(request, job_id)))

    def import_rejections_view(self, request, job_id):
        """Every rejected line with its reason, as CSV, however many there are."""
        job = self.import_job(request, job_id)
        response = StreamingHttpResponse(
            rejection_csv_lines(job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        return response


REJECTIONS_SHOWN = 1000


class TagChangeList(ChangeList):
    """The tag list, each tag on the page with how many carry it (``selectors.tag_members``):
    the tags off the page are not counted at all."""

    def get_results(self, request):
        super().get_results(request)
        tags = list(self.result_list)
        members = selectors.tag_members([tag.pk for tag in tags])
        for tag in tags:
            tag.members = members[tag.pk]
        self.result_list = tags


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Tags with how many subscribers carry each: a few queries for the page, however many
    tags there are. The counts cannot sort the list (that would count every tag)."""

    list_display = ["name", "subscriber_count", "active_count"]
    search_fields = ["name"]

    def get_changelist(self, request, **kwargs):
        return TagChangeList

    @admin.display(description="subscribers")
    def subscriber_count(self, tag):
        url = admin_url(Subscriber, "changelist")
        return format_html(
            '<a href="{}?tags__id__exact={}">{}</a>', url, tag.pk, tag.members.carrying
        )

    @admin.display(description="active")
    def active_count(self, tag):
        return str(tag.members.active)

    def get_deleted_objects(self, objs, request):
        """A tag a segment's conditions name cannot be deleted: the segment would widen
        silently (a "none of these tags" losing its tag matches more people)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        tag_ids = [tag.pk for tag in objs]
        using = Segment.objects.filter(
            Q(tags_any__in=tag_ids) | Q(tags_all__in=tag_ids) | Q(tags_none__in=tag_ids)
        ).distinct()
        protected = [*protected, *(f"Segment: {segment} (uses the tag)" for segment in using)]
        return deleted, counts, perms_needed, protected


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Saved filters, each with its live count: on the page, and again as the form changes."""

    form = SegmentForm
    list_display = ["name", "newsletter", "updated_at"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["tags_any", "tags_all", "tags_none"]
    readonly_fields = ["members"]
    fieldsets = [
        (None, {"fields": ["name", "description", "members"]}),
        ("Who", {"fields": ["newsletter", "signed_up_after", "signed_up_before"]}),
        ("Tags", {"fields": ["tags_any", "tags_all", "tags_none"]}),
        (
            "Engagement",
            {
                "fields": ["clicked_in_last_issues", "never_clicked"],
                "description": (
                    "Needs the newsletter's per-subscriber history (“subscriber history” in "
                    "the newsletter's settings): without it clicks are counted, "
                    "not tied to anyone, so these conditions cannot be used."
                ),
            },
        ),
    ]

    class Media:
        js = ["subscribers/segment_count.js"]

    def get_urls(self):
        count = self.admin_site.admin_view(require_POST(self.count_view))
        return [
            path("count/", count, name="subscribers_segment_count"),
            *super().get_urls(),
        ]

    @admin.display(description="Members now")
    def members(self, segment):
        """The live count; the page's script keeps it up to date while the form changes."""
        count, problem = "–", ""
        if segment.pk:
            try:
                count = segment_members(segment).count()
            except ValidationError as error:
                problem = " ".join(error.messages)
        link = ""
        if segment.pk and not problem:
            url = admin_url(Subscriber, "changelist")
            link = format_html(' · <a href="{}?segment={}">see them</a>', url, segment.pk)
        return format_html(
            '<output id="segment-count" data-url="{}">{}</output> active subscribers'
            '{} <span id="segment-count-problem" class="errornote"{}>{}</span>',
            admin_url(Segment, "count"),
            count,
            link,
            "" if problem else mark_safe(' style="display: none"'),
            problem,
        )

    def count_view(self, request):
        """How many the segment form as posted would match, without saving it (JSON).

        Needs the permission to add or change segments (whoever could save this form) and
        the CSRF token, like every admin POST.
        """
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        form = SegmentForm(request.POST)
        errors = form.rule_errors()
        if errors:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"count": members(form.rule()).count()})


@admin.register(ErasedAddress)
class ErasedAddressAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
