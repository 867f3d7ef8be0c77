"""Newsletters: sender, look and what the reports may measure; each with its dashboard."""

from django.contrib import admin

from superfast.mail import domain_of
from superfast.sending_domain import check_sending_domain

from ..compose.forms import ENGAGEMENT_FIELDS, NewsletterForm
from ..models import Newsletter
from .reports import NewsletterDashboardAdminMixin


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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """``?check_sending_domain=1`` (the "Check sending domain" button) asks the DNS what
        receivers will find for the newsletter's From domain: on demand, since it waits on
        the network."""
        extra_context = dict(extra_context or {})
        newsletter = self.get_object(request, object_id)
        if newsletter is not None and request.GET.get("check_sending_domain"):
            extra_context["sending_domain"] = domain_of(newsletter.from_email)
            extra_context["sending_domain_findings"] = check_sending_domain(
                extra_context["sending_domain"]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Issues")
    def issue_count(self, obj):
        return obj.issues.count()
