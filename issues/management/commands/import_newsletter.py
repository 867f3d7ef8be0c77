"""Move in from another platform: its posts become issues at their original dates, its
readers subscribers with their status, dates and consent history.

Published posts are marked sent at the date they went out there (never mailed), drafts and
paid-only posts stay drafts, and old addresses answer 301. Readers are sent nothing. A second
run imports nothing twice. ``--dry-run`` reports the same and changes nothing. Mailchimp and
beehiiv exports hold readers only; Ghost's members are a CSV of their own (``--readers``).
Pictures the export does not carry stay at their remote address, listed in the report, unless
``--fetch-images`` downloads them (``issues.importers.post_images``).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from issues.importers.exports import ExportError
from issues.importers.platform_imports import move_in
from issues.importers.platforms import PLATFORM_NAMES

from .import_issue import newsletter_for


class Command(BaseCommand):
    help = "Import another platform's export: its posts become sent issues, never mailed."

    def add_arguments(self, parser):
        parser.add_argument("platform", choices=sorted(PLATFORM_NAMES))
        parser.add_argument("path", help="The export: a zip, its unpacked folder, or a file.")
        parser.add_argument(
            "--readers",
            help="The readers when they are a file or folder of their own (Ghost's members CSV).",
        )
        parser.add_argument("--newsletter", help="Slug of the newsletter (default: the only one).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; change nothing."
        )
        parser.add_argument(
            "--fetch-images",
            action="store_true",
            help="Download the pictures posts show from the old platform's servers (through "
            "the server-side fetcher and the upload checks) instead of leaving them there.",
        )

    def handle(
        self,
        *args,
        platform,
        path,
        newsletter=None,
        readers=None,
        dry_run=False,
        fetch_images=False,
        **options,
    ):
        try:
            with transaction.atomic():
                done = move_in(
                    platform,
                    Path(path),
                    newsletter_for(newsletter),
                    readers_path=Path(readers) if readers else None,
                    dry_run=dry_run,
                    fetch_images=fetch_images,
                )
                lines = list(done.lines())
                if dry_run:
                    transaction.set_rollback(True)
        except ExportError as error:
            raise CommandError(f"{readers or path}: {error}") from None
        for line in lines:
            self.stdout.write(line)
