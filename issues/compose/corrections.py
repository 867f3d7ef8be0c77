"""Corrections after sending: the web version changes, the email that went out never does."""

from django.utils import timezone

from ..models import Issue, Snapshot
from .rendering import render_issue

WEB_FIELDS = ("web_html", "headings", "search_text")


def correct_web_version(issue: Issue) -> Snapshot:
    """The archive page of a sent issue, rendered again from its blocks as they are now.

    For corrections after sending (a typo, a broken link): only what the web page shows
    changes, and the page then says when. The email and its text stay as they were sent, so
    a resumed or retried send still delivers what everyone else got.
    """
    snapshot = Snapshot.objects.filter(issue=issue, issue__status=Issue.Status.SENT).first()
    if snapshot is None:
        raise ValueError("Only a sent issue has a web version to correct.")
    rendered = render_issue(issue)
    for name in WEB_FIELDS:
        setattr(snapshot, name, getattr(rendered, name))
    snapshot.web_updated_at = timezone.now()
    snapshot.save(update_fields=[*WEB_FIELDS, "web_updated_at"])
    issue.snapshot = snapshot
    return snapshot
