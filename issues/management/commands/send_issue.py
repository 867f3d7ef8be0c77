"""``manage.py send_issue ISSUE [--test-to ADDR ...] [--wait]``."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from issues import delivery
from issues.models import Dispatch, Issue


def find_issue(reference: str) -> Issue:
    """An issue by id or by ``newsletter-slug/issue-slug``."""
    issues = Issue.objects.select_related("newsletter")
    if reference.isdigit():
        issue = issues.filter(pk=int(reference)).first()
    elif reference.count("/") == 1:
        newsletter, slug = reference.split("/")
        issue = issues.filter(newsletter__slug=newsletter, slug=slug).first()
    else:
        raise CommandError(f"ISSUE must be an id or newsletter-slug/issue-slug, not {reference!r}.")
    if issue is None:
        raise CommandError(f"No issue {reference!r}.")
    return issue


class Command(BaseCommand):
    help = "Send an issue to its newsletter's subscribers (or a test copy to some addresses)."

    def add_arguments(self, parser):
        parser.add_argument("issue", help="An issue id or newsletter-slug/issue-slug.")
        parser.add_argument(
            "--test-to", nargs="+", metavar="ADDR", help="Send a test copy to these addresses only."
        )
        parser.add_argument(
            "--wait", action="store_true", help="Print progress until the send is done."
        )

    def handle(self, *args, issue, test_to=None, wait=False, **options):
        issue = find_issue(issue)
        if test_to:
            for address in test_to:
                try:
                    validate_email(address)
                except ValidationError:
                    raise CommandError(f"{address!r} is not an email address.") from None
            sent = delivery.send_test(issue, test_to)
            self.stdout.write(f"Sent a test copy of {issue} to {sent} address(es).")
            return
        count = delivery.recipient_count(issue)
        try:
            dispatch = delivery.start_dispatch(issue)
        except delivery.LedgerCompacted as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            f"Dispatch {dispatch.pk} of {issue}: {dispatch.get_status_display().lower()}, "
            f"{count} recipient(s) to plan."
        )
        if wait:
            self.wait_for(dispatch)

    def wait_for(self, dispatch: Dispatch, interval: float = 1.0):
        last = None
        while True:
            dispatch.refresh_from_db()
            figures = delivery.progress(dispatch)
            line = (
                f"{figures['status_label']}: {figures['sent']} sent, {figures['failed']} failed, "
                f"{figures['pending']} pending of {figures['planned']}"
            )
            if line != last:
                self.stdout.write(line)
                last = line
            if figures["done"]:
                return
            if dispatch.status in {Dispatch.Status.PAUSED, Dispatch.Status.HELD}:
                raise CommandError(f"Dispatch {dispatch.pk} stopped: {dispatch.pause_reason}")
            time.sleep(interval)
