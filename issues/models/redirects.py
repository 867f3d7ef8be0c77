"""Old addresses of the public site and where they moved: one table for every cause."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from superfast.validators import refuse_control_characters


def validate_site_path(value: str) -> None:
    """A path on this site (``/weekly/calm/``, a query allowed), never another site's URL.

    A redirect target taken from the database is still a redirect anyone can follow, so
    nothing here may send a visitor elsewhere: no scheme, no host, nothing a browser reads
    as one (``//host``, ``/\\host``), no spaces or control characters.
    """
    refuse_control_characters(value)
    parts = urlsplit(value)
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(c.isspace() for c in value)
        or parts.scheme
        or parts.netloc
    ):
        raise ValidationError(
            "Give a path on this site, starting with one “/” (e.g. /weekly/calm-seas/), "
            "not an address elsewhere."
        )


def validate_old_path(value: str) -> None:
    """What a visitor asks for, as the site receives it: a path without query or fragment."""
    validate_site_path(value)
    if "?" in value or "#" in value:
        raise ValidationError("The old address is a path only, without “?” or “#”.")


class Redirect(models.Model):
    """An old address answering 301 with its new one: an issue whose slug a correction
    changed, or another platform's address after moving in.

    Looked up only when nothing else answers the old path (``issues.archive.redirects``),
    so a redirect never hides a real page. Written through ``add_redirect``, which keeps
    the table free of chains and loops.
    """

    old_path = models.CharField(
        max_length=500,
        unique=True,
        validators=[validate_old_path],
        help_text="The address that moved, as a path: /weekly/old-slug/.",
    )
    new_path = models.CharField(
        max_length=500,
        validators=[validate_site_path],
        help_text="Where it went: a path on this site (never another site).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["old_path"]

    def __str__(self):
        return f"{self.old_path} → {self.new_path}"
