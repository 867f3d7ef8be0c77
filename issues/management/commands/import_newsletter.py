"""Move in from another platform: its posts become issues at their original dates.

Published posts are marked sent at the date they went out there (never mailed), drafts and
paid-only posts stay drafts, and old addresses answer 301. A second run imports nothing
twice. ``--dry-run`` reports the same and changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from issues.importers.exports import ExportError
from issues.importers.platforms import POST_READERS
from issues.importers.posts import import_posts

from .import_issue import newsletter_for


class Command(BaseCommand):
    help = "Import another platform's export: its posts become sent issues, never mailed."

    def add_arguments(self, parser):
        parser.add_argument("platform", choices=sorted(POST_READERS))
        parser.add_argument("path", help="The export: a zip, its unpacked folder, or a file.")
        parser.add_argument("--newsletter", help="Slug of the newsletter (default: the only one).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; change nothing."
        )

    def handle(self, *args, platform, path, newsletter=None, dry_run=False, **options):
        try:
            with transaction.atomic():
                target = newsletter_for(newsletter)
                report = import_posts(platform, Path(path), target, dry_run=dry_run)
                if dry_run:
                    transaction.set_rollback(True)
        except ExportError as error:
            raise CommandError(f"{path}: {error}") from None
        for line in report.lines():
            self.stdout.write(line)
