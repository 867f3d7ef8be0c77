"""``manage.py send_issue ISSUE [--tag NAME | --segment NAME] [--test-to ADDR ...] [--wait]``."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from issues import delivery
from issues.models import Dispatch, Issue
from issues.reports import delivery as delivery_reports
from subscribers import segments


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


def audience_of(issue: Issue, *, tag: str | None, segment: str | None) -> dict:
    """``start_dispatch``'s keyword for ``--tag`` or ``--segment`` (names in any case)."""
    if tag:
        found = segments.find_tag(tag)
        if found is None:
            raise CommandError(f"No tag {tag!r}. Known: {known(segments.Tag.objects)}.")
        return {"tag": found}
    if segment:
        found = segments.find_segment(segment)
        if found is None:
            raise CommandError(f"No segment {segment!r}. Known: {known(segments.Segment.objects)}.")
        if found.newsletter_id not in (None, issue.newsletter_id):
            raise CommandError(
                f"The segment {found.name!r} is for {found.newsletter}, not {issue.newsletter}."
            )
        return {"segment": found}
    return {}


def known(manager, most: int = 20) -> str:
    """Some of the names that exist, to help with a typo."""
    names = [repr(name) for name in manager.values_list("name", flat=True)[: most + 1]]
    if len(names) > most:
        names[most:] = ["…"]
    return ", ".join(names) or "none"


class Command(BaseCommand):
    help = "Send an issue to its newsletter's subscribers (or a test copy to some addresses)."

    def add_arguments(self, parser):
        parser.add_argument("issue", help="An issue id or newsletter-slug/issue-slug.")
        parser.add_argument(
            "--test-to", nargs="+", metavar="ADDR", help="Send a test copy to these addresses only."
        )
        part = parser.add_mutually_exclusive_group()
        part.add_argument("--tag", metavar="NAME", help="Send only to subscribers with this tag.")
        part.add_argument("--segment", metavar="NAME", help="Send only to this saved segment.")
        parser.add_argument(
            "--wait", action="store_true", help="Print progress until the send is done."
        )

    def handle(self, *args, issue, test_to=None, wait=False, tag=None, segment=None, **options):
        issue = find_issue(issue)
        audience = audience_of(issue, tag=tag, segment=segment)
        if test_to:
            for address in test_to:
                try:
                    validate_email(address)
                except ValidationError:
                    raise CommandError(f"{address!r} is not an email address.") from None
            sent = delivery.send_test(issue, test_to)
            self.stdout.write(f"Sent a test copy of {issue} to {sent} address(es).")
            return
        try:
            count = delivery.recipient_count(issue, **audience)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        try:
            dispatch = delivery.start_dispatch(issue, **audience)
        except (ValueError, delivery.LedgerCompacted) as refusal:
            # A welcome email (its sequence sends it), or an issue whose ledger was rolled up.
            raise CommandError(str(refusal)) from None
        self.stdout.write(
            f"Dispatch {dispatch.pk} of {issue} to {dispatch.audience_label}: "
            f"{dispatch.get_status_display().lower()}, {count} recipient(s) to plan."
        )
        if wait:
            self.wait_for(dispatch)

    def wait_for(self, dispatch: Dispatch, interval: float = 1.0):
        last = None
        while True:
            dispatch.refresh_from_db()
            figures = delivery_reports.progress(dispatch)
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
