"""Import a Markdown file as a draft issue, in the syntax of ``issues.compose.markup``.

``#`` is the title, ``##`` a section heading, link lists, images and text in plain Markdown,
and every other kind (quiz, callout, button, sponsor, a library block...) in a fenced
``::: kind`` form. The whole file is checked before anything is saved: bad input creates
nothing.
"""

from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from issues.compose.markup import MarkupError, read_issue
from issues.models import Block, Issue, Newsletter


class Command(BaseCommand):
    help = "Import a Markdown file as a new draft issue and print its id."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--newsletter", help="Slug of the newsletter (default: the only one).")

    def handle(self, *args, path, newsletter=None, **options):
        source = Path(path)
        try:
            imported = read_issue(self.read(source), folder=source.parent)
        except MarkupError as error:
            where = f"{source}, line {error.line}" if error.line else f"{source}"
            raise CommandError(f"{where}: {error.message}") from None
        with transaction.atomic():
            target = newsletter_for(newsletter)
            issue = Issue.objects.create(
                newsletter=target,
                title=imported.title,
                subject=imported.subject,
                preheader=imported.preheader,
            )
            Block.objects.bulk_create(
                Block(
                    issue=issue,
                    position=position,
                    kind=block.kind,
                    data=block.data,
                    library_block=block.library_block,
                )
                for position, block in enumerate(imported.blocks, start=1)
            )
        self.stdout.write(
            f"Imported “{imported.title}” as issue #{issue.number} of {target} "
            f"with {len(imported.blocks)} blocks: id {issue.pk}"
        )

    def read(self, source: Path) -> str:
        try:
            raw = source.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {source}: {error.strerror}.") from None
        if b"\0" in raw:
            raise CommandError(f"{source} is a binary file, not Markdown text.")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CommandError(f"{source} is not UTF-8 text.") from None


def newsletter_for(slug: str | None) -> Newsletter:
    """The newsletter ``slug`` names; without one, the only newsletter (created from the
    settings when there is none). Shared by the import commands."""
    if slug:
        try:
            return Newsletter.objects.get(slug=slug)
        except Newsletter.DoesNotExist:
            raise CommandError(f"There is no newsletter with the slug “{slug}”.") from None
    newsletters = list(Newsletter.objects.all()[:2])
    if len(newsletters) > 1:
        slugs = ", ".join(Newsletter.objects.values_list("slug", flat=True))
        raise CommandError(f"Several newsletters exist; choose one with --newsletter: {slugs}")
    if newsletters:
        return newsletters[0]
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = name or "Newsletter"
    return Newsletter.objects.create(
        name=name, slug=slugify(name) or "newsletter", from_name=name, from_email=address
    )
