"""Corrections after sending: the web version changes, the email that went out never does."""

from django.utils import timezone

from ..models import Issue, Snapshot
from .forms import public_address_holder
from .rendering import render_issue

WEB_FIELDS = ("web_html", "headings", "search_text")


def correct_web_version(issue: Issue) -> Snapshot:
    """The archive page of a sent issue, rendered again from its blocks as they are now,
    under the title, slug and "show in archive" the issue has now.

    For corrections after sending (a typo, a broken link, a better title): only what the
    public sees changes, and the page then says when. The email and its text stay as they
    were sent, so a resumed or retried send still delivers what everyone else got.
    """
    snapshot = Snapshot.objects.filter(issue=issue, issue__status=Issue.Status.SENT).first()
    if snapshot is None:
        raise ValueError("Only a sent issue has a web version to correct.")
    holder = public_address_holder(issue.newsletter_id, issue.slug, but=issue.pk)
    if holder is not None:
        raise ValueError(
            f"Not corrected: “{issue.slug}” is the public address of {holder}; choose another slug."
        )
    rendered = render_issue(issue)
    for name in WEB_FIELDS:
        setattr(snapshot, name, getattr(rendered, name))
    for name in Snapshot.PUBLIC_FACE:
        setattr(snapshot, name, getattr(issue, name))
    snapshot.web_updated_at = timezone.now()
    snapshot.save(update_fields=[*WEB_FIELDS, *Snapshot.PUBLIC_FACE, "web_updated_at"])
    issue.snapshot = snapshot
    return snapshot
