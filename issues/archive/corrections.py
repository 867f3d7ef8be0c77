"""Publishing a correction: the web version, the public face, and the old address kept."""

from ..compose.corrections import correct_web_version
from ..models import Issue, Snapshot
from .cache import recent_issue_facts
from .redirects import add_redirect


def publish_correction(issue: Issue) -> Snapshot:
    """Correct ``issue``'s web version (``correct_web_version``) and make it public at once.

    A changed slug keeps the old address answering 301 with the new one (readers' emails
    link to it). Cached pages need no deleting: their keys hold the correction's time; this
    process's freshness window is cleared so the editor sees the result on the next click.
    """
    old_path = issue.get_absolute_url()
    snapshot = correct_web_version(issue)
    new_path = issue.get_absolute_url()
    if new_path != old_path:
        add_redirect(old_path, new_path)
    recent_issue_facts.clear()
    return snapshot
