"""Public pages: the archive of sent issues."""

from django.shortcuts import get_object_or_404, render

from .models import Issue


def issue_page(request, newsletter, slug):
    """A sent issue as it was sent (its snapshot)."""
    issue = get_object_or_404(
        Issue.objects.select_related("newsletter", "snapshot"),
        newsletter__slug=newsletter,
        slug=slug,
        status=Issue.Status.SENT,
        show_in_archive=True,
    )
    return render(request, "archive/issue.html", {"issue": issue, "snapshot": issue.snapshot})
