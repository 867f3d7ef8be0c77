"""Reports in the admin: each sent issue's engagement report and each newsletter's dashboard.

Anyone who may view issues (or newsletters) may read them: they hold aggregate figures
only. The pages are thin: the figures come from ``issues.engagement``, each in a few
aggregate queries, so last week's issue opens at once whatever its audience.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.clickjacking import xframe_options_sameorigin

from superfast.admin_pages import admin_page, admin_url
from superfast.middleware import shows_issue_content

from ..compose.blocks import get_kind
from ..engagement.links import positions_in_html
from ..engagement.middleware import CLICK_PREFIX
from ..engagement.quiz import last_result
from ..models import Newsletter
from ..reports import dashboard
from ..reports.charts import percent
from ..reports.clickmap import HEAT, click_map
from ..reports.engagement import issue_engagement, link_figures, readers_who_clicked
from ..reports.quiz import quiz_reports, quiz_rows
from ..reports.tables import link_rows, links_csv
from .base import issue_for, may_send

OPENS_ARE_ESTIMATES = (
    "Apple Mail Privacy Protection loads every image of every message it "
    "receives, read or not, and many mail clients block images, so some opens are counted "
    "that never happened and others are missed. Clicks are the figure to trust."
)


class IssueReportsAdminMixin:
    """Adds the engagement report, its click map and its CSV under each issue's admin URL."""

    def get_urls(self):
        def view(route, func, name):
            return path(route, self.admin_site.admin_view(func), name=f"issues_issue_{name}")

        return [
            view("<int:pk>/engagement/", self.engagement_view, "engagement"),
            view("<int:pk>/engagement/links.csv", self.engagement_csv_view, "engagement_csv"),
            view(
                "<int:pk>/engagement/click-map/",
                xframe_options_sameorigin(self.click_map_view),
                "click_map",
            ),
            view("<int:pk>/quiz-result/", self.quiz_result_view, "quiz_result"),
            *super().get_urls(),
        ]

    def quiz_result_view(self, request, pk):
        """A "Last week's quiz" block for this issue, filled from the newsletter's previous
        sent issue with a quiz (JSON: the block's ``kind``, its stored ``data``, the
        editor's form ``values`` and where it came ``from``), all null with a ``message``
        when no earlier issue has one. For whoever may edit the issue: the figures are
        aggregates."""
        issue = issue_for(self, request, pk, "change")
        kind = get_kind("quiz_result")
        found = last_result(issue)
        if found is None:
            nothing = {"data": None, "values": None, "from": None}
            message = "No earlier sent issue of this newsletter has a quiz."
            return JsonResponse({"kind": kind.name, **nothing, "message": message})
        source, data = found
        return JsonResponse(
            {
                "kind": kind.name,
                "data": data,
                "values": kind.form_values(data),
                "from": {"issue": source.pk, "title": source.title, "url": admin_url(source)},
            }
        )

    def engagement_view(self, request, pk):
        issue = issue_for(self, request, pk, related=("snapshot",))
        engagement = issue_engagement(issue)
        context = {
            "issue": issue,
            "title": f"Report: “{issue.title}”",
            "engagement": engagement,
            "rows": link_rows(engagement),
            "click_rate": percent(engagement.click_rate),
            "opens_reason": OPENS_ARE_ESTIMATES,
            "click_map_url": admin_url(issue, "click_map"),
            "csv_url": admin_url(issue, "engagement_csv"),
            "dashboard_url": admin_url(issue.newsletter, "dashboard"),
            "delivery_report_url": admin_url(issue, "report") if may_send(request) else "",
            "quizzes": [(quiz, quiz_rows(quiz)) for quiz in quiz_reports(issue)],
        }
        return report_page(self, request, issue, "engagement_report.html", context)

    def engagement_csv_view(self, request, pk):
        issue = issue_for(self, request, pk, related=("snapshot",))
        response = HttpResponse(
            links_csv(issue_engagement(issue)), content_type="text/csv; charset=utf-8"
        )
        filename = f"{issue.newsletter.slug}-{issue.number}-links.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @shows_issue_content
    def click_map_view(self, request, pk):
        """The issue's web HTML with the badges, alone in a document for a sandboxed frame."""
        issue = issue_for(self, request, pk, related=("snapshot",))
        snapshot = getattr(issue, "snapshot", None)
        if snapshot is None:
            raise Http404("This issue has no frozen rendering yet.")
        tracked = issue.newsletter.track_clicks and CLICK_PREFIX in snapshot.email_html
        drawn = click_map(
            snapshot.web_html,
            link_figures(issue),
            readers_who_clicked(issue),
            positions_in_html(snapshot.email_html) if tracked else None,
        )
        context = {"issue": issue, "map": drawn, "heat_levels": HEAT}
        return TemplateResponse(request, "admin/issues/click_map.html", context)


class NewsletterDashboardAdminMixin:
    """Adds each newsletter's dashboard: its audience week by week, its issues' rates."""

    def get_urls(self):
        wrapped = self.admin_site.admin_view(self.dashboard_view)
        return [
            path("<int:pk>/dashboard/", wrapped, name="issues_newsletter_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_link(self, obj):
        url = admin_url(obj, "dashboard")
        return format_html('<a href="{}">Dashboard</a>', url)

    dashboard_link.short_description = "Reports"

    def dashboard_view(self, request, pk):
        newsletter = Newsletter.objects.filter(pk=pk).first()
        if newsletter is None:
            raise Http404("No such newsletter.")
        if not self.has_view_permission(request, newsletter):
            raise PermissionDenied("The dashboard needs the permission to view newsletters.")
        context = {
            "newsletter": newsletter,
            "title": f"Dashboard: {newsletter.name}",
            **dashboard.dashboard(newsletter),
            "may_view_issues": request.user.has_perm("issues.view_issue"),
        }
        return report_page(self, request, newsletter, "newsletter_dashboard.html", context)


def report_page(model_admin, request, obj, template, context) -> TemplateResponse:
    """An admin page about ``obj`` (the admin's frame, breadcrumbs back to its page)."""
    return admin_page(model_admin, request, f"admin/issues/{template}", obj, **context)
