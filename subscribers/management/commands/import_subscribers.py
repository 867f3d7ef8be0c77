"""``manage.py import_subscribers FILE.csv [--newsletter SLUG]``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subscribers.csv_io import ImportFileError
from subscribers.imports import import_csv
from subscribers.selectors import newsletter_model


def choose_newsletter(slug):
    """The newsletter named by ``slug``, or the only one when no slug is given."""
    newsletters = newsletter_model().objects.all()
    if slug:
        newsletter = newsletters.filter(slug=slug).first()
        if newsletter is None:
            known = ", ".join(newsletters.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No newsletter with slug {slug!r}. Known: {known}.")
        return newsletter
    choices = list(newsletters[:2])
    if len(choices) != 1:
        raise CommandError(
            "Name the newsletter with --newsletter SLUG."
            if choices
            else "There is no newsletter yet: create one first."
        )
    return choices[0]


class Command(BaseCommand):
    help = (
        "Import subscribers from a CSV file with a header row (email; optional name and tags, "
        "tags separated by ';'). Imported addresses are active, with consent recorded as an "
        "import. The file is streamed: its size does not matter."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--newsletter", help="Slug of the newsletter (default: the only one).")

    def handle(self, *args, file, newsletter=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        target = choose_newsletter(newsletter)
        try:
            with path.open("rb") as binary:
                report = import_csv(binary, target, size=path.stat().st_size)
        except ImportFileError as error:
            raise CommandError(f"{path}: {error}") from None
        for rejection in report.rejections():
            self.stderr.write(f"line {rejection.line}: {rejection.email!r}: {rejection.reason}")
        self.stdout.write(f"{target.slug}: {report.summary()}.")
        if report.job.error:
            raise CommandError(f"{path}: {report.job.error}")
