"""Never lose work: drafts saved as editors type, version checks, revisions, presence.

The admin stays thin and calls these functions:

- **Drafts** (``save_draft``, ``draft_for``, ``discard_draft``): the change form exactly as the
  browser holds it, valid or not, per issue and editor. A draft is private to its editor:
  two people editing one issue each get their own work back, never each other's. A new
  issue not saved yet has drafts too (``save_new_issue_draft``), one per editor and
  newsletter, kept ``NEW_ISSUE_DRAFT_DAYS`` days and offered again on "Add issue".
- **Versions** (``claim_version``): every save raises ``Issue.version`` with one conditional
  UPDATE. A form based on an older version matches no row and is refused, so two saves can
  never both pass, whatever the database's isolation.
- **Revisions** (``record_revision``, ``restore_revision``, ``compare_texts``): every save
  keeps the issue's fields and blocks, who saved and a one-line summary of what changed.
- **Presence** (``mark_present``): who has an issue open, kept in the cache for a heartbeat
  or two.
"""

import difflib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import Truncator

from ..models import Autosave, Block, Issue, LibraryBlock, Revision
from .blocks import KINDS, RenderContext

# Issue fields a revision keeps and a restore brings back. Number, slug and newsletter are
# the issue's identity (its public address), not its content.
ISSUE_FIELDS = ("title", "subject", "preheader", "cover_image")
FIELD_LABELS = {
    "title": "title",
    "subject": "subject",
    "preheader": "preheader",
    "cover_image": "cover image",
}

# Posted names that are buttons or tokens, not the editor's work.
NOT_FORM_STATE = {"csrfmiddlewaretoken", "_save", "_continue", "_addanother", "_saveasnew"}

PRESENCE_SECONDS = 45  # a few missed heartbeats (every 15 s) before someone counts as gone


class RestoreRefused(Exception):
    """The issue went out (or is going out): its email stays as it was sent."""


SENT_OR_SENDING = (Issue.Status.SENDING, Issue.Status.SENT)


class VersionConflict(Exception):
    """Someone saved the issue after the form being saved was opened."""

    def __init__(self, issue: Issue, expected: int):
        self.issue, self.expected = issue, expected
        self.current = current_version(issue)
        latest = Revision.objects.filter(issue=issue).select_related("author").first()
        self.by = editor_name(latest.author) if latest and latest.author else "Someone"
        super().__init__(
            f"Not saved: {self.by} saved a newer version of this issue (version "
            f"{self.current}) after you opened version {expected}. Your changes are kept "
            "here: compare both versions, then save over theirs or discard yours."
        )


# --- States ----------------------------------------------------------------------------


def block_state(block: Block, position: int) -> dict:
    return {
        "id": block.pk,
        "kind": block.kind,
        "data": block.data,
        "library_block_id": block.library_block_id,
        "position": position,
    }


def state_of(issue: Issue, blocks: Iterable[Block]) -> dict:
    """An issue's fields and blocks, stored or not, as a revision keeps them."""
    fields = {name: getattr(issue, name) for name in ISSUE_FIELDS}
    fields["cover_image"] = issue.cover_image.name if issue.cover_image else ""
    return {
        "fields": fields,
        "blocks": [block_state(block, n) for n, block in enumerate(blocks, start=1)],
    }


def issue_state(issue: Issue) -> dict:
    """The issue as stored now."""
    return state_of(issue, issue.blocks.order_by("position", "id"))


def state_text(state: dict) -> str:
    """A state's plain text: its fields, then each block's own plain-text form.

    Library placements read the library block as it is now; a revision stores this text when
    it is made, so later library edits do not rewrite what an old revision said.
    """
    fields = state["fields"]
    lines = [
        f"Title: {fields.get('title', '')}",
        f"Subject: {fields.get('subject', '')}",
        f"Preheader: {fields.get('preheader', '')}",
    ]
    if fields.get("cover_image"):
        lines.append(f"Cover image: {fields['cover_image']}")
    library_ids = {b["library_block_id"] for b in state["blocks"] if b["library_block_id"]}
    library = LibraryBlock.objects.in_bulk(library_ids) if library_ids else {}
    ctx = RenderContext()
    for block in state["blocks"]:
        kind_name, data = block["kind"], block["data"]
        if block["library_block_id"] in library:
            placed = library[block["library_block_id"]]
            kind_name, data = placed.kind, placed.data
        kind = KINDS.get(kind_name)
        if kind is None:
            continue
        lines += ["", kind.text(data, ctx).strip() or f"[{kind.label}]"]
    return "\n".join(lines).strip() + "\n"


def change_summary(before: dict | None, after: dict) -> str:
    """One line of what a save changed, e.g. "Edited 2 blocks, added 1, title changed"."""
    count = len(after["blocks"])
    if before is None:
        return f"Created with {count} block{'s' if count != 1 else ''}"
    old = {b["id"]: b for b in before["blocks"] if b["id"]}
    new = {b["id"]: b for b in after["blocks"] if b["id"]}
    content = ("kind", "data", "library_block_id")
    edited = sum(
        1
        for pk, block in new.items()
        if pk in old and any(old[pk][key] != block[key] for key in content)
    )
    added = sum(1 for b in after["blocks"] if b["id"] not in old)
    removed = sum(1 for pk in old if pk not in new)
    kept_order = [b["id"] for b in after["blocks"] if b["id"] in old]
    moved = kept_order != [b["id"] for b in before["blocks"] if b["id"] in new]
    parts = []
    for n, verb in ((edited, "Edited"), (added, "added"), (removed, "removed")):
        if n:
            parts.append(f"{verb} {n}")
    if parts:
        parts[0] = f"{parts[0]} block{'s' if parts[0].split()[-1] != '1' else ''}"
    if moved:
        parts.append("blocks reordered")
    for name in ISSUE_FIELDS:
        if before["fields"].get(name) != after["fields"].get(name):
            parts.append(f"{FIELD_LABELS[name]} changed")
    if not parts:
        return "Saved without changes"
    summary = ", ".join(parts)
    return summary[0].upper() + summary[1:]


# --- Versions and revisions ------------------------------------------------------------


def current_version(issue: Issue) -> int:
    return Issue.objects.filter(pk=issue.pk).values_list("version", flat=True).first() or 0


def claim_version(issue: Issue, *, expected: int) -> int:
    """Raise the issue's version from ``expected`` by one, or raise ``VersionConflict``.

    One conditional UPDATE: on PostgreSQL a concurrent save waits for this row and then finds
    the version moved; SQLite lets one writer at a time. Call it inside the save's
    transaction, so a failure later in the save gives the version back.
    """
    claimed = Issue.objects.filter(pk=issue.pk, version=expected).update(version=F("version") + 1)
    if not claimed:
        raise VersionConflict(issue, expected)
    issue.version = expected + 1
    return issue.version


def record_revision(issue: Issue, *, author, before: dict | None, summary: str = "") -> Revision:
    """Keep the issue as it is now as revision ``issue.version``."""
    after = issue_state(issue)
    return Revision.objects.create(
        issue=issue,
        number=issue.version,
        author=author,
        summary=Truncator(summary or change_summary(before, after)).chars(300),
        state=after,
        text=state_text(after),
    )


def restore_revision(revision: Revision, *, author) -> Revision:
    """Bring back ``revision``'s fields and blocks, as a new revision on top of the others.

    Library placements stay placements of the same library block (its content as it is now,
    as for any unsent issue); one that was since deleted from the library cannot come back.
    """
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=revision.issue_id)
        # Checked under the lock: a send that started since the page was opened wins.
        if issue.status in SENT_OR_SENDING:
            raise RestoreRefused("This issue has been sent: its email stays as it was sent.")
        before = issue_state(issue)
        claim_version(issue, expected=issue.version)
        for name, value in revision.state["fields"].items():
            if name in ISSUE_FIELDS:
                setattr(issue, name, value)
        issue.save()
        existing = set(
            LibraryBlock.objects.filter(
                pk__in=[b["library_block_id"] for b in revision.state["blocks"]]
            ).values_list("pk", flat=True)
        )
        issue.blocks.all().delete()
        Block.objects.bulk_create(
            Block(
                issue=issue,
                position=block["position"],
                kind=block["kind"],
                data=block["data"],
                library_block_id=block["library_block_id"],
            )
            for block in revision.state["blocks"]
            if block["library_block_id"] is None or block["library_block_id"] in existing
        )
        return record_revision(
            issue, author=author, before=before, summary=f"Restored revision {revision.number}"
        )


def draft_state(issue: Issue, forms) -> dict:
    """What a draft's bound (issue form, block formsets) would save, as far as it is valid.

    Invalid issue fields keep their stored value; a block that is not valid yet shows as
    such, so comparing a half-finished draft still shows every block the editor wrote.
    """
    form, formsets = forms
    draft = Issue(pk=issue.pk, newsletter_id=issue.newsletter_id)
    form.is_valid()
    for name in ISSUE_FIELDS:
        typed = name in form.cleaned_data and name != "cover_image"
        setattr(draft, name, form.cleaned_data[name] if typed else getattr(issue, name))
    blocks = []
    for formset in formsets:
        for block_form in formset.forms:
            valid = block_form.is_valid()
            if valid and block_form.cleaned_data.get("DELETE"):
                continue
            if valid and block_form.cleaned_data.get("kind"):
                block = block_form.instance
            elif block_form.has_changed() or block_form.instance.pk:
                block = Block(kind="markdown", data={"body": "[A block that is not valid yet]"})
                block.position = block_form.data.get(block_form.add_prefix("position"), 0)
            else:
                continue
            blocks.append(block)
    blocks.sort(key=lambda b: int(b.position or 0))
    return state_of(draft, blocks)


def revision_label(revision: Revision) -> str:
    who = editor_name(revision.author) if revision.author else "the system"
    when = timezone.localtime(revision.created_at).strftime("%Y-%m-%d %H:%M")
    return f"Revision {revision.number}, {who}, {when}"


def mark_sent_revision(issue: Issue) -> Revision:
    """Mark the revision being sent; an issue last saved before revisions gets one now."""
    version = current_version(issue)
    revision = Revision.objects.filter(issue=issue, number=version).first()
    if revision is None:
        issue.version = version
        revision = record_revision(issue, author=None, before=None, summary="As sent")
    Revision.objects.filter(pk=revision.pk).update(sent_at=timezone.now())
    return revision


@dataclass(frozen=True)
class DiffRow:
    """One line of a side-by-side comparison; ``change`` is difflib's opcode tag."""

    change: str  # "equal", "replace", "delete" or "insert"
    old_number: int | None
    old_line: str
    new_number: int | None
    new_line: str


def compare_texts(old: str, new: str, *, context: int = 3) -> list[list[DiffRow]]:
    """``old`` and ``new`` side by side: groups of changed lines with ``context`` around them.

    Lines are compared with difflib's SequenceMatcher; a replaced run pairs its lines up, the
    longer side facing blanks. No groups means the two texts read the same.
    """
    if old == new:
        return []
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    groups = []
    for opcodes in matcher.get_grouped_opcodes(context):
        rows = []
        for tag, i1, i2, j1, j2 in opcodes:
            for n in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + n, j1 + n
                rows.append(
                    DiffRow(
                        change=tag,
                        old_number=i + 1 if i < i2 else None,
                        old_line=old_lines[i] if i < i2 else "",
                        new_number=j + 1 if j < j2 else None,
                        new_line=new_lines[j] if j < j2 else "",
                    )
                )
        groups.append(rows)
    return groups


# --- Drafts ----------------------------------------------------------------------------


def form_state(posted: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Posted (name, value) pairs as a draft keeps them: name to every value, in order."""
    data: dict[str, list[str]] = {}
    for name, value in posted:
        if name not in NOT_FORM_STATE:
            data.setdefault(name, []).append(value)
    return data


def save_draft(
    issue: Issue, user, *, data: dict[str, list[str]], based_on_version: int, state=None
) -> Autosave:
    """Keep ``user``'s form of ``issue`` as posted (one draft per issue and editor)."""
    draft, _ = Autosave.objects.update_or_create(
        issue=issue,
        user=user,
        defaults={
            "data": data,
            "based_on_version": based_on_version,
            "state": state,
            "saved_at": timezone.now(),
        },
    )
    return draft


def draft_for(issue: Issue, user) -> Autosave | None:
    return Autosave.objects.filter(issue=issue, user=user).first()


def discard_draft(issue: Issue, user) -> None:
    Autosave.objects.filter(issue=issue, user=user).delete()


# --- Drafts of new issues --------------------------------------------------------------

NEW_ISSUE_DRAFT_DAYS = 30  # how long an unsaved new issue waits on "Add issue"


def save_new_issue_draft(
    user, *, newsletter_id: int | None, data: dict[str, list[str]]
) -> Autosave:
    """Keep ``user``'s unsaved new issue of that newsletter (one per editor and newsletter).

    A draft kept before any newsletter was chosen is the same work, taken over once one is.
    """
    if newsletter_id is not None:
        Autosave.objects.filter(issue=None, newsletter=None, user=user).delete()
    draft, _ = Autosave.objects.update_or_create(
        issue=None,
        newsletter_id=newsletter_id,
        user=user,
        defaults={"data": data, "based_on_version": 0, "saved_at": timezone.now()},
    )
    return draft


def new_issue_drafts(user) -> list[Autosave]:
    """``user``'s unsaved new issues, newest first; those older than the keeping time go."""
    cutoff = timezone.now() - timedelta(days=NEW_ISSUE_DRAFT_DAYS)
    Autosave.objects.filter(issue=None, saved_at__lt=cutoff).delete()
    return list(
        Autosave.objects.filter(issue=None, user=user)
        .select_related("newsletter")
        .order_by("-saved_at")
    )


def new_issue_draft(user, pk) -> Autosave | None:
    """One of ``user``'s own unsaved new issues (never a colleague's), if it is still kept."""
    if not str(pk).isdigit():
        return None
    return next((draft for draft in new_issue_drafts(user) if draft.pk == int(pk)), None)


def discard_new_issue_drafts(user, *, pk: int | None = None, newsletter_id: int | None = None):
    """Forget one unsaved new issue (``pk``), or the one of ``newsletter_id`` once saved."""
    drafts = Autosave.objects.filter(issue=None, user=user)
    if pk is not None:
        drafts = drafts.filter(pk=pk)
    else:
        drafts = drafts.filter(Q(newsletter_id=newsletter_id) | Q(newsletter=None))
    drafts.delete()


def draft_as_post(draft: Autosave) -> QueryDict:
    """The draft as the form's bound data, the way the browser posted it."""
    data = QueryDict(mutable=True)
    for name, values in draft.data.items():
        data.setlist(name, [str(v) for v in values])
    return data


# --- Presence --------------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    since: float  # epoch seconds when they opened the issue


def editor_name(user) -> str:
    return user.get_full_name() or user.get_username()


def presence_key(issue_id: int) -> str:
    return f"issue-presence:{issue_id}"


def mark_present(issue_id: int, user, *, now: float | None = None) -> list[Presence]:
    """Note that ``user`` has the issue open; the others who have it open, longest first.

    One cache entry per issue. Two heartbeats at the same instant may drop one of them from
    the entry until its next beat: presence is a hint, not a lock.
    """
    now = time.time() if now is None else now
    entries = {
        uid: entry
        for uid, entry in (cache.get(presence_key(issue_id)) or {}).items()
        if now - entry["seen"] < PRESENCE_SECONDS
    }
    mine = entries.get(str(user.pk), {"since": now})
    entries[str(user.pk)] = {"name": editor_name(user), "since": mine["since"], "seen": now}
    cache.set(presence_key(issue_id), entries, PRESENCE_SECONDS)
    return sorted(
        (
            Presence(user_id=int(uid), name=entry["name"], since=entry["since"])
            for uid, entry in entries.items()
            if uid != str(user.pk)
        ),
        key=lambda p: p.since,
    )


def mark_gone(issue_id: int, user) -> None:
    """``user`` closed the issue: take them off at once rather than after the timeout."""
    entries = cache.get(presence_key(issue_id)) or {}
    if entries.pop(str(user.pk), None) is not None:
        cache.set(presence_key(issue_id), entries, PRESENCE_SECONDS)
