"""What every issues admin view starts from: the issue a request may act on, and who may send.

Each extra view of the issue admin (previews, sending, reports, revisions) finds its issue
through ``issue_for`` with the permission it needs, so a new view cannot forget the check
and every refusal reads the same; ``may_send`` is the one test of the send permission.
"""

from typing import Literal

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from .. import sequences
from ..models import Issue

SEND_PERMISSION = "issues.send_issue"
CHANGE_PERMISSION = "issues.change_issue"

Need = Literal["view", "change", "send", "change_and_send"]

REFUSALS: dict[str, str] = {
    "view": "This needs the permission to view issues.",
    "change": "This needs the permission to change issues.",
    "send": "Sending needs the “Can send or schedule an issue” permission.",
    "change_and_send": "This changes what readers or the public see: it needs the "
    "permissions to change and to send issues.",
    "live_welcome": "This welcome email is live: its sequence is running (or it already "
    "went out), so a saved change reaches the next new readers at once, as a send does. "
    "Changing it needs the permission to send issues: ask someone who has it.",
    "live_library_block": "This library block is in a live welcome email: a saved change "
    "reaches the next new readers at once, as a send does. Changing it needs the permission "
    "to send issues: ask someone who has it.",
}


def may_send(request: HttpRequest) -> bool:
    """Whether the user may send, schedule, correct or control what readers get."""
    return request.user.has_perm(SEND_PERMISSION)


def allowed(model_admin: ModelAdmin, request: HttpRequest, issue: Issue, need: Need) -> bool:
    if need == "view":
        return model_admin.has_view_or_change_permission(request, issue)
    if need == "change":
        return model_admin.has_change_permission(request, issue)
    if need == "send":
        return may_send(request)
    return model_admin.has_change_permission(request, issue) and may_send(request)


def issue_for(
    model_admin: ModelAdmin,
    request: HttpRequest,
    pk: object,
    need: Need = "view",
    *,
    related: tuple[str, ...] = (),
) -> Issue:
    """The issue ``pk`` with its newsletter (and ``related``), if the user has what ``need``
    names: 404 for an unknown or malformed id, 403 (with the reason) for a user without it."""
    if not str(pk).isdigit():
        raise Http404("No such issue.")
    issue = Issue.objects.select_related("newsletter", *related).filter(pk=pk).first()
    if issue is None:
        raise Http404("No such issue.")
    if not allowed(model_admin, request, issue, need):
        raise PermissionDenied(refusal(model_admin, request, issue, need))
    return issue


def refusal(model_admin: ModelAdmin, request: HttpRequest, issue: Issue, need: Need) -> str:
    """Why ``need`` is refused: a live welcome email says so, not "no change permission"."""
    if need in ("change", "change_and_send") and refused_as_live(request, issue):
        return REFUSALS["live_welcome"]
    return REFUSALS[need]


def refused_as_live(request: HttpRequest, issue: Issue) -> bool:
    """Whether the user may change issues, but not this one: a live welcome email
    (``sequences.is_live``), and no permission to send."""
    may_change_issues = request.user.has_perm(CHANGE_PERMISSION)
    return may_change_issues and not may_send(request) and sequences.is_live(issue)


class BlockEditorMedia:
    """The block stream editor's script and styles: the issue and library block pages."""

    css = {"all": ["issues/block_stream.css"]}
    js = [
        "issues/block_stream.js",
        "issues/item_rows.js",
        "issues/leave_guard.js",
        "issues/stream_keys.js",
        "issues/markdown_toolbar.js",
        "issues/quiz_result_fill.js",
    ]


def explain_live_refusal(model_admin: ModelAdmin, request: HttpRequest, reason: str) -> None:
    """For a user refused only because what they would change is live: a save is refused
    with ``reason`` (not a bare 403), and the page, shown read-only, says it."""
    if request.method == "POST":
        raise PermissionDenied(REFUSALS[reason])
    model_admin.message_user(request, REFUSALS[reason], messages.WARNING)
