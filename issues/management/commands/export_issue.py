"""``manage.py export_issue ISSUE``: the issue as Markdown that ``import_issue`` reads back."""

from django.core.management.base import BaseCommand

from issues.compose.markup import export_markdown
from issues.management.commands.send_issue import find_issue


class Command(BaseCommand):
    help = "Write an issue as Markdown (import_issue's syntax) to standard output."

    def add_arguments(self, parser):
        parser.add_argument("issue", help="An issue id or newsletter-slug/issue-slug.")

    def handle(self, *args, issue, **options):
        self.stdout.write(export_markdown(find_issue(issue)), ending="")
