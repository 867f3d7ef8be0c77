"""``manage.py export_subscribers [--newsletter SLUG] [--status STATUS]``: CSV to stdout."""

from django.core.management.base import BaseCommand

from subscribers.csv_io import export_csv_lines
from subscribers.models import Subscriber, Subscription

from .import_subscribers import choose_newsletter


class Command(BaseCommand):
    help = "Write subscribers as CSV to stdout (cells are escaped against formula injection)."

    def add_arguments(self, parser):
        parser.add_argument("--newsletter", help="Only active subscribers of this newsletter.")
        parser.add_argument(
            "--status", choices=Subscriber.Status.values, help="Only subscribers with this status."
        )

    def handle(self, *args, newsletter=None, status=None, **options):
        subscribers = Subscriber.objects.order_by("email")
        if newsletter:
            subscribers = subscribers.filter(
                subscriptions__newsletter=choose_newsletter(newsletter),
                subscriptions__status=Subscription.Status.ACTIVE,
            )
        if status:
            subscribers = subscribers.filter(status=status)
        count = 0
        for line in export_csv_lines(subscribers):
            self.stdout.write(line, ending="")
            count += 1
        self.stderr.write(f"Exported {count - 1} subscribers.")
