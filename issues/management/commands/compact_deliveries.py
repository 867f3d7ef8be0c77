"""Roll up the delivery ledgers of issues sent longer ago than the retention period."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from issues.reports.retention import compact_old_deliveries, compactable_issues


class Command(BaseCommand):
    help = (
        "Replace the per-recipient delivery rows of issues whose last send ended more than "
        "DELIVERY_RETENTION_DAYS ago with their counts (reports stay the same)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            metavar="DAYS",
            default=settings.DELIVERY_RETENTION_DAYS,
            help="Days since the issue's last send ended (default: DELIVERY_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List the issues; change nothing."
        )

    def handle(self, *args, older_than, dry_run, **options):
        if older_than <= 0:
            raise CommandError("--older-than must be a positive number of days.")
        if dry_run:
            issues = list(compactable_issues(retention_days=older_than))
            for issue in issues:
                self.stdout.write(f"Would compact issue {issue.pk}: {issue}")
            self.stdout.write(f"{len(issues)} issue(s) past {older_than:g} days.")
            return
        done = compact_old_deliveries(retention_days=older_than)
        for compacted in done:
            self.stdout.write(
                f"Issue {compacted.issue_id}: {compacted.rows} delivery row(s) rolled up."
            )
        self.stdout.write(f"{len(done)} issue(s) compacted.")
