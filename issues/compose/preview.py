"""The live preview: an issue rendered by the real renderer from the editor's unsaved form.

The editor's form is rarely valid while they type: the preview renders what is valid (the
issue's valid fields, the blocks whose forms validate) and counts the blocks it left out, so it
can say so. Nothing of the issue is saved. An image chosen but not saved yet is posted once,
checked and stored as a save that came back with errors would store it; the page then posts
its signed reference (``kept_uploads``, ``issues.compose.uploads``) instead of the file.
"""

import re
from dataclasses import dataclass

from django.db.models import Max
from django.forms import BaseFormSet, ModelForm
from django.utils.text import slugify

from ..models import Block, Issue
from .examples import example_email
from .rendering import RenderedIssue, render_issue
from .uploads import keep

DARK_MEDIA = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)")


@dataclass
class DraftPreview:
    issue: Issue
    rendered: RenderedIssue
    left_out: int  # blocks whose forms have errors


def draft_issue(form: ModelForm) -> Issue | None:
    """The issue with the fields of ``form`` that validate; None without a newsletter.

    An issue not saved yet gets the next number and a slug from its title, as saving would.
    """
    form.is_valid()
    issue = form.instance
    if issue.newsletter_id is None:
        return None
    if issue.number is None:
        same_kind = Issue.objects.filter(newsletter=issue.newsletter, kind=issue.kind)
        last = same_kind.aggregate(Max("number"))
        issue.number = (last["number__max"] or 0) + 1
    issue.slug = issue.slug or slugify(issue.title) or f"issue-{issue.number}"
    return issue


def draft_blocks(formset: BaseFormSet) -> tuple[list[Block], int]:
    """The blocks of a bound block formset as they stand, in their posted order.

    Returns the blocks whose forms validate and how many others were left out; blocks the
    editor deleted, or never gave a kind, are not counted.
    """
    blocks, left_out = [], 0
    for form in formset.forms:
        if getattr(form, "left_out", False) or not form.data.get(form.add_prefix("kind")):
            continue
        if formset.can_delete and form.data.get(form.add_prefix("DELETE")):
            continue
        if form.is_valid():
            blocks.append(form.instance)
        else:
            left_out += 1
    blocks.sort(key=lambda block: block.position)
    return blocks, left_out


def preview_draft(form: ModelForm, formset: BaseFormSet) -> DraftPreview | None:
    """The unsaved issue rendered with an anchor before each block; None without a newsletter."""
    issue = draft_issue(form)
    if issue is None:
        return None
    blocks, left_out = draft_blocks(formset)
    return DraftPreview(issue, render_issue(issue, blocks=blocks, marks=True), left_out)


def email_document(rendered: RenderedIssue, *, dark: bool) -> str:
    """The email as a reader gets it (example links) in the light or dark colour scheme.

    The email's dark-mode rules wait for the reader's system setting; the preview applies them,
    or not, whatever the editor's own system prefers.
    """
    html, _ = example_email(rendered)
    return DARK_MEDIA.sub("@media all" if dark else "@media not all", html)


def kept_uploads(formset: BaseFormSet) -> dict[str, str]:
    """The signed reference of each image this post uploaded and the preview stored, by the
    name of its file input: the page sends the reference from then on, not the file again."""
    kept = {}
    for form in formset.forms:
        for name in form.fields:
            upload = form.files.get(form.add_prefix(name))
            stored = getattr(upload, "stored_image", None)
            if stored is not None:
                kept[form.add_prefix(name)] = keep(stored)
    return kept
