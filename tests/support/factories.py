"""The suite's one way to make newsletters and issues: keywords say what a test needs.

``make_issue()`` alone is a draft of the newsletter ``weekly`` with no blocks. Asked for, it
gets real blocks (``sections``) and a snapshot frozen from them by the real renderer
(``frozen``, as a send freezes it); or it is sent ``days_ago``, with the archive-shaped
snapshot written by hand (headings with anchors, links, an image and a quiz) about a
``topic`` whose words the archive and search tests look for.
"""

from datetime import timedelta

from django.utils import timezone

from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Issue, Newsletter

from .archive import freeze

INTRO = "Hello,\n\nThis week: boring tools, reliable queues."

PARAGRAPH = (
    "This week we looked at how small teams keep their tools boring on purpose, why a queue "
    "that forgets is worse than a slow one, and what a reader's inbox says about trust. Every "
    "paragraph here is written for the tests: long enough to weigh like a real issue, plain "
    "enough to read, with a few accents, café and naïve, to keep the encoding honest."
)

# Sections of ``add_blocks`` in a frozen issue: an email of about 10 KB.
FROZEN_SECTIONS = 8


def make_newsletter(slug: str = "weekly", name: str = "The Weekly", **fields) -> Newsletter:
    """A newsletter sending as ``name`` <``slug``@example.org> unless ``fields`` say otherwise."""
    fields.setdefault("from_name", name)
    fields.setdefault("from_email", f"{slug}@example.org")
    return Newsletter.objects.create(slug=slug, name=name, **fields)


def make_issue(
    newsletter: Newsletter | None = None,
    title: str = "Boring tools, reliable queues",
    *,
    sections: int | None = None,
    frozen: bool = False,
    topic: str | None = None,
    days_ago: int | None = None,
    **fields,
) -> Issue:
    """An issue of ``newsletter`` (by default ``weekly``, made on first use).

    ``sections``: that many sections of real blocks (8 when ``frozen`` and not given).
    ``frozen``: its snapshot frozen from the blocks by the real renderer, as a send does.
    ``days_ago``: sent (unless ``status`` says otherwise) and published that many days ago,
    with the archive-shaped snapshot about ``topic`` ("dockside" unless given) unless frozen.
    ``topic``: that snapshot for an issue in any status (and a preheader, as editors write).
    Other ``fields`` (``status``, ``subject``, ``kind``...) go to the model as they are.
    """
    if newsletter is None:
        newsletter = Newsletter.objects.filter(slug="weekly").first() or make_newsletter()
    if days_ago is not None:
        fields.setdefault("status", Issue.Status.SENT)
        fields.setdefault("published_at", timezone.now() - timedelta(days=days_ago))
        topic = topic or "dockside"
    if topic is not None:
        fields.setdefault("preheader", f"{title}: what happened on the water this week.")
    issue = Issue.objects.create(newsletter=newsletter, title=title, **fields)
    if sections is None:
        sections = FROZEN_SECTIONS if frozen else 0
    if sections:
        add_blocks(issue, sections=sections)
    if frozen:
        freeze_snapshot(issue)
    elif topic is not None:
        freeze(issue, topic=topic)
    return issue


def add_blocks(issue: Issue, sections: int = FROZEN_SECTIONS) -> None:
    """An intro, then per section a heading, a paragraph and a link list (~1.2 KB rendered)."""
    raw_blocks = [("markdown", {"body": INTRO})]
    for n in range(sections):
        raw_blocks += [
            ("heading", {"title": f"Section {n}"}),
            ("markdown", {"body": PARAGRAPH}),
            ("link_list", {"items": f"Read the piece | https://example.org/read/{n} | why"}),
        ]
    start = issue.blocks.count() + 1
    Block.objects.bulk_create(
        Block(issue=issue, position=position, kind=kind, data=get_kind(kind).validate(raw))
        for position, (kind, raw) in enumerate(raw_blocks, start=start)
    )
