"""Editorial actions on issues that are more than a form save."""

from django.db import transaction

from ..models import Block, Issue


def duplicate_as_next_issue(issue: Issue, author=None) -> Issue:
    """A new draft after ``issue``: same settings and blocks, the next number, nothing sent.

    Own blocks are copied; library placements stay placements, so the copy follows the library.
    """
    with transaction.atomic():
        copy = Issue.objects.create(
            newsletter=issue.newsletter,
            title=issue.title,
            subject=issue.subject,
            preheader=issue.preheader,
            cover_image=issue.cover_image.name if issue.cover_image else "",
            author=author or issue.author,
        )
        Block.objects.bulk_create(
            Block(
                issue=copy,
                position=block.position,
                kind=block.kind,
                data=block.data,
                library_block_id=block.library_block_id,
            )
            for block in issue.blocks.all()
        )
    return copy
