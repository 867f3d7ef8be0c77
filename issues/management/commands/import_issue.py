"""Import a Markdown file as a draft issue: ``#`` title, ``##`` sections, the rest as blocks.

Link lists (every item ``- [Title](https://…) — note``) become link-list blocks, an image on
its own line (``![alt](path "caption")``, path relative to the file) an image block, anything
else Markdown text. The whole file is checked before anything is saved: bad input creates
nothing.
"""

import re
import unicodedata
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from issues.compose.kinds import get_kind
from issues.models import Block, Issue, Newsletter

LINK_ITEM = re.compile(
    r"^\s*[-*+]\s+\[(?P<title>[^\]]+)\]\((?P<url>[^)\s]+)\)\s*(?:[—–:-]+\s*(?P<note>.*))?$"
)
IMAGE_LINE = re.compile(r'^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)(?:\s+"(?P<caption>[^"]*)")?\)$')
OPEN_LINK = re.compile(r"\]\([^)]*$|\[[^\]]*$")  # a link opened and not closed on its line
LIST_ITEM = re.compile(r"^\s*[-*+]\s+")


def split_emoji(title: str) -> tuple[str, str]:
    """A heading's leading emoji, if it has one, apart from its words."""
    first, _, rest = title.partition(" ")
    if rest and first and all(unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") for c in first):
        return first, rest.strip()
    return "", title


class Command(BaseCommand):
    help = "Import a Markdown file as a new draft issue and print its id."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--newsletter", help="Slug of the newsletter (default: the only one).")

    def handle(self, *args, path, newsletter=None, **options):
        source = Path(path)
        title, blocks = self.parse(source)
        with transaction.atomic():
            target = self.newsletter(newsletter)
            issue = Issue.objects.create(newsletter=target, title=title)
            Block.objects.bulk_create(
                Block(issue=issue, position=position, kind=kind, data=data)
                for position, (kind, data) in enumerate(blocks, start=1)
            )
        self.stdout.write(
            f"Imported “{title}” as issue #{issue.number} of {target} "
            f"with {len(blocks)} blocks: id {issue.pk}"
        )

    def newsletter(self, slug):
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

    def parse(self, source: Path):
        lines = self.read(source).splitlines()
        first = next((n for n, line in enumerate(lines) if line.strip()), None)
        if first is None or not lines[first].startswith("# "):
            raise CommandError(f"{source}: the first line must be the title, as “# Title”.")
        title = lines[first][2:].strip()
        blocks, chunk = [], []
        text: list[str] = []

        def flush_text():
            body = "\n".join(text).strip()
            if body:
                blocks.append(self.block("markdown", {"body": body}, source))
            text.clear()

        def flush_chunk():
            if (
                chunk
                and all(LIST_ITEM.match(line) for _, line in chunk)
                and any("](" in line for _, line in chunk)
            ):
                items = []
                for number, line in chunk:
                    match = LINK_ITEM.match(line)
                    if not match:
                        raise CommandError(
                            f"{source}, line {number}: a link list item must read "
                            "“- [Title](https://…) — note”."
                        )
                    title, url, note = match.group("title", "url", "note")
                    items.append({"title": title, "url": url, "note": note or ""})
                flush_text()
                blocks.append(self.block("link_list", {"items": items}, source))
            elif len(chunk) == 1 and (match := IMAGE_LINE.match(chunk[0][1].strip())):
                flush_text()
                blocks.append(self.image(source, chunk[0][0], match))
            else:
                text.extend(line for _, line in chunk)
                text.append("")
            chunk.clear()

        for number, line in enumerate(lines[first + 1 :], start=first + 2):
            if OPEN_LINK.search(line):
                raise CommandError(f"{source}, line {number}: a link is opened but not closed.")
            if line.startswith("# "):
                raise CommandError(f"{source}, line {number}: only the first line may be “# …”.")
            if line.startswith("## "):
                flush_chunk()
                flush_text()
                emoji, heading = split_emoji(line[3:].strip())
                blocks.append(self.block("heading", {"title": heading, "emoji": emoji}, source))
            elif line.strip():
                chunk.append((number, line))
            else:
                flush_chunk()
        flush_chunk()
        flush_text()
        if not blocks:
            raise CommandError(f"{source}: there is nothing after the title.")
        return title, blocks

    def block(self, kind, raw, source, files=None):
        try:
            return kind, get_kind(kind).validate(raw, files)
        except ValidationError as error:
            raise CommandError(f"{source}: {kind} block: {'; '.join(error.messages)}") from None

    def image(self, source: Path, number: int, match):
        path = (source.parent / match["src"]).resolve()
        if match["src"].startswith(("http://", "https://")) or not path.is_file():
            raise CommandError(
                f"{source}, line {number}: image “{match['src']}” is not a file next to the "
                "Markdown; save it there and refer to it by its relative path."
            )
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        raw = {"alt": match["alt"], "caption": match["caption"] or ""}
        return self.block("image", raw, source, files={"image": upload})
