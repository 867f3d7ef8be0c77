"""Render once for sending: the frozen snapshot every reader's message is made from.

Rendering (``issues.compose``) knows nothing of engagement; here delivery renders the issue,
asks engagement to rewrite the email's links into tracked links and write the issue's link
table, and stores the result, all in one transaction.
"""

from django.db import transaction

from ..compose.rendering import SNAPSHOT_FIELDS, render_issue
from ..engagement.links import prepare_for_sending
from ..models import Issue, Snapshot


def freeze_snapshot(issue: Issue) -> Snapshot:
    """Render once for sending and store it as ``issue.snapshot``, replacing any earlier one.

    The issue's title, slug and "show in archive" are frozen with it: from now on they are
    what the public sees, whatever the editor's copy says, until a correction.

    The email's links become tracked links here, and the issue's link table is written in
    the same transaction (``issues.engagement.links``).
    """
    rendered = render_issue(issue)
    with transaction.atomic():
        prepare_for_sending(issue, rendered)
        defaults = {name: getattr(rendered, name) for name in SNAPSHOT_FIELDS}
        defaults |= {name: getattr(issue, name) for name in Snapshot.PUBLIC_FACE}
        snapshot, _ = Snapshot.objects.update_or_create(issue=issue, defaults=defaults)
    issue.snapshot = snapshot
    return snapshot
