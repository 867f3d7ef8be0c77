"""Newsletters: sender, look and what the reports may measure; each with its dashboard."""

from django.contrib import admin

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

    @admin.display(description="Issues")
    def issue_count(self, obj):
        return obj.issues.count()
