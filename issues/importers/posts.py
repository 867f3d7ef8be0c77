"""Posts of another platform become issues: sent at their original date, never mailed.

A published post is rendered once into its frozen snapshot (``freeze_snapshot``, as a send
would) and marked sent at the date it went out there, so the archive, feeds, search and
sitemap list it in date order; no ``Dispatch`` or ``Delivery`` row is ever written, so no
one can be mailed it. Drafts and paid-only posts arrive as drafts. The post's old address
answers 301 with its new page through the one redirect table; an old address another import
already took is reported as a conflict and left for the editor. Each post is remembered by
platform and id (``ImportedPost``), so a second run imports nothing twice.
"""

import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import markdown as markdown_lib
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from ..archive.redirects import add_redirect
from ..compose.markup import ImportedBlock, MarkupError, Reader
from ..delivery.snapshot import freeze_snapshot
from ..models import Block, ImportedPost, Issue, Newsletter, Redirect
from .exports import ExportError, open_export
from .fetcher import Resolver
from .html_blocks import ImageSource, build_blocks, convert_html
from .platforms import POST_READERS, Post
from .post_images import PostImages


@dataclass
class PostOutcome:
    """What became of one post: ``action`` is imported, draft, skipped or failed."""

    post: Post
    action: str
    issue: Issue | None = None
    kinds: Counter = field(default_factory=Counter)  # its blocks, by kind
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        date = self.post.date.date().isoformat() if self.post.date else "no date"
        where = (
            f" → {self.issue.get_absolute_url()}"
            if self.issue and self.action == "imported"
            else ""
        )
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.kinds.items()))
        said = "".join(
            f"\n    {note}" for note in [*([f"blocks: {kinds}"] if kinds else []), *self.notes]
        )
        return f"{self.action:>8}  {date}  {self.post.title}{where}{said}"


@dataclass
class PostsReport:
    platform: str
    outcomes: list[PostOutcome] = field(default_factory=list)
    dry_run: bool = False
    fetching_images: bool = False
    fetched_images: int = 0  # remote pictures downloaded (each then checked like an upload)

    def count(self, action: str) -> int:
        return sum(outcome.action == action for outcome in self.outcomes)

    def remote_images(self) -> list[str]:
        return [
            note.removeprefix(REMOTE_IMAGE)
            for outcome in self.outcomes
            for note in outcome.notes
            if note.startswith(REMOTE_IMAGE)
        ]

    def conflicts(self) -> list[str]:
        return [note for o in self.outcomes for note in o.notes if note.startswith(CONFLICT)]

    def lines(self) -> Iterator[str]:
        for outcome in self.outcomes:
            yield outcome.line()
        yield (
            f"{'Would import' if self.dry_run else 'Imported'} from {self.platform}: "
            f"{self.count('imported')} sent issues at their original dates, "
            f"{self.count('draft')} drafts; {self.count('skipped')} already here, "
            f"{self.count('failed')} failed; {self.images_said()}; "
            f"{len(self.conflicts())} old addresses in conflict. Nobody was mailed."
        )
        if self.dry_run:
            yield "Dry run: nothing was changed."

    def images_said(self) -> str:
        remote = f"{len(self.remote_images())} images left at their remote address"
        if not self.fetching_images:
            return remote
        if self.dry_run:
            return f"{remote} (remote images are fetched by the import, not by a dry run)"
        return f"{self.fetched_images} remote images downloaded, {remote}"


REMOTE_IMAGE = "image kept at its remote address: "
CONFLICT = "conflict: "


def import_posts(
    platform: str,
    path: Path,
    newsletter: Newsletter,
    *,
    dry_run: bool = False,
    fetch_images: bool = False,
    resolver: Resolver = socket.getaddrinfo,
    progress: Callable[[int, int], None] | None = None,
) -> PostsReport:
    """Every post of the export at ``path`` into ``newsletter``, oldest first (so numbers
    follow dates), each post committed on its own (a second run skips those already here);
    with ``dry_run`` everything is done in one transaction, rolled back.

    ``fetch_images`` downloads the pictures the export does not carry (``PostImages``;
    never in a dry run, which must change nothing). ``progress`` hears (posts done, posts
    in all) after each post."""
    if platform not in POST_READERS:
        raise ExportError(f"posts from “{platform}” cannot be imported.")
    export = open_export(path)
    posts = sorted(POST_READERS[platform](export), key=lambda p: (p.date is None, p.date))
    report = PostsReport(platform, dry_run=dry_run, fetching_images=fetch_images)
    images = PostImages(export, fetch_remote=fetch_images and not dry_run, resolver=resolver)
    with transaction.atomic() if dry_run else nullcontext():
        for done, post in enumerate(posts, start=1):
            report.outcomes.append(import_post(platform, post, newsletter, images))
            if progress:
                progress(done, len(posts))
        if dry_run:
            transaction.set_rollback(True)
    report.fetched_images = images.fetched
    return report


def import_post(
    platform: str, post: Post, newsletter: Newsletter, images: ImageSource
) -> PostOutcome:
    already = ImportedPost.objects.filter(platform=platform, external_id=post.external_id).first()
    if already is not None:
        return PostOutcome(post, "skipped", already.issue, notes=["imported before"])
    outcome = PostOutcome(post, "imported" if post.public else "draft")
    blocks = post_blocks(post, outcome.notes, images)
    if not blocks:
        return PostOutcome(post, "failed", notes=[*outcome.notes, "no content to import"])
    if not post.published:
        outcome.notes.append("a draft there: kept as a draft")
    elif post.paid_only:
        outcome.notes.append("for paying readers only there: kept as a draft")
    elif post.date is None:
        outcome.notes.append("no publication date: kept as a draft")
    with transaction.atomic():
        issue = create_issue(post, newsletter, blocks)
        if outcome.action == "imported":
            publish(issue, post)
            redirect_old_path(post, issue, outcome.notes)
        ImportedPost.objects.create(
            platform=platform, external_id=post.external_id, issue=issue, old_path=post.old_path
        )
    outcome.issue, outcome.kinds = issue, Counter(block.kind for block in blocks)
    return outcome


def post_blocks(post: Post, notes: list[str], images: ImageSource) -> list[ImportedBlock]:
    """The post's body as validated blocks; what could not be kept goes to ``notes``."""
    if post.markdown is not None and post.html is None:
        try:
            return Reader(folder=None).blocks(post.markdown.splitlines())
        except MarkupError:
            # Buttondown's Markdown may hold raw HTML and remote images, which the issue
            # syntax does not: it goes through the one HTML converter instead.
            html = markdown_lib.markdown(post.markdown, extensions=["tables", "fenced_code"])
    else:
        html = post.html or ""
    conversion = convert_html(html)
    built = build_blocks(conversion.drafts, image_source=images)
    notes += [f"{REMOTE_IMAGE}{url}" for url in built.remote_images]
    notes += built.problems
    if conversion.removed:
        removed = ", ".join(f"{n} {tag}" for tag, n in sorted(conversion.removed.items()))
        notes.append(f"removed (not safe in an issue): {removed}")
    return built.blocks


def create_issue(post: Post, newsletter: Newsletter, blocks: list[ImportedBlock]) -> Issue:
    issue = Issue(newsletter=newsletter, title=post.title[:200], preheader=post.subtitle[:200])
    slug = slugify(post.slug)[:200]
    if slug and not issue.slug_taken(slug):
        issue.slug = slug
    issue.save()
    Block.objects.bulk_create(
        Block(issue=issue, position=position, kind=block.kind, data=block.data)
        for position, block in enumerate(blocks, start=1)
    )
    return issue


def publish(issue: Issue, post: Post) -> None:
    """Frozen and marked sent at its original date, as if sent then: no dispatch, no mail."""
    freeze_snapshot(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT, published_at=post.date)
    issue.status, issue.published_at = Issue.Status.SENT, post.date


def redirect_old_path(post: Post, issue: Issue, notes: list[str]) -> None:
    if not post.old_path:
        return
    new_path = issue.get_absolute_url()
    taken = Redirect.objects.filter(old_path=post.old_path).values_list("new_path", flat=True)
    if taken.exists() and taken.first() != new_path:
        notes.append(
            f"{CONFLICT}{post.old_path} already leads to {taken.first()}; "
            "settle it in the admin's redirects"
        )
        return
    try:
        add_redirect(post.old_path, new_path)
    except ValidationError as error:
        notes.append(f"old address {post.old_path[:80]} not redirected: {error.messages[0]}")
