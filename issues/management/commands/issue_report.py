"""``manage.py issue_report ISSUE [--json]``: an issue's engagement report."""

import json

from django.core.management.base import BaseCommand

from issues.reports.engagement import issue_engagement
from issues.reports.quiz import quiz_reports
from issues.reports.tables import report_data, report_text

from .send_issue import find_issue


class Command(BaseCommand):
    help = "Print an issue's report: delivery, unsubscribes, people's and machines' clicks."

    def add_arguments(self, parser):
        parser.add_argument("issue", help="An issue id or newsletter-slug/issue-slug.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, issue, **options):
        issue = find_issue(issue)
        engagement = issue_engagement(issue)
        quizzes = quiz_reports(issue)
        if options["json"]:
            self.stdout.write(
                json.dumps(report_data(engagement, quizzes), indent=2, ensure_ascii=False)
            )
        else:
            self.stdout.write(
                report_text(f"{issue} ({issue.newsletter.slug}/{issue.slug})", engagement, quizzes),
                ending="",
            )
