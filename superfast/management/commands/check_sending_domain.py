"""``manage.py check_sending_domain DOMAIN``: what receivers will find in DOMAIN's DNS."""

from django.core.management.base import BaseCommand, CommandError

from superfast.mail import unusable_domain
from superfast.sending_domain import check_sending_domain, dkim_record


class Command(BaseCommand):
    help = (
        "Checks SPF, DKIM (the configured selector), DMARC and its alignment with the From "
        "domain, and MX of the bounce domain; says what to fix. Exits 1 when something needs "
        "fixing."
    )

    def add_arguments(self, parser):
        parser.add_argument("domain", nargs="?", help="The From domain, e.g. news.example.org")
        parser.add_argument("--selector", help="DKIM selector (default DKIM_SELECTOR)")
        parser.add_argument(
            "--print-dkim-record",
            action="store_true",
            help="Print the TXT record that publishes DKIM_PRIVATE_KEY_FILE's public key.",
        )

    def handle(self, *args, domain=None, selector=None, print_dkim_record=False, **options):
        if print_dkim_record:
            record = dkim_record()
            if not record:
                raise CommandError("No DKIM key is configured (DKIM_PRIVATE_KEY_FILE).")
            self.stdout.write(record)
            return
        if not domain:
            raise CommandError("Name the domain to check, e.g. news.example.org.")
        problem = unusable_domain(domain.lower().strip().rstrip("."))
        if problem:
            raise CommandError(f"{domain} {problem}: mail cannot be sent from it.")
        findings = check_sending_domain(domain, selector=selector)
        for finding in findings:
            self.stdout.write(str(finding))
        failing = sum(not finding.ok for finding in findings)
        if failing:
            raise CommandError(f"{failing} of {len(findings)} checks need fixing for {domain}.")
        self.stdout.write(f"{domain} is ready to send.")
