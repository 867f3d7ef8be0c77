"""Filters and tags of the public pages' templates."""

from datetime import datetime
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def inline_stylesheet(path: str) -> SafeString:
    """The text of the static stylesheet ``path``, for a ``<style>`` in the page's head.

    The light scheme's styles are inlined: a linked stylesheet blocks the first paint for
    two more round trips on a new connection, which on a phone's network was the second
    that kept the public pages from Lighthouse's 100 for performance. Read once per process
    (at every page while DEBUG is on, so edits show); our own files, without ``</style>``.
    """
    return mark_safe(_read_static(path) if settings.DEBUG else _read_static_once(path))


def _read_static(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(f"no static file {path}")
    return Path(found).read_text()


_read_static_once = cache(_read_static)


@register.filter
def machine_time(value: datetime | None) -> str:
    """``value`` for a ``<time datetime>``: ISO 8601 to the second (HTML allows at most
    three digits of a second; Django's ``date:'c'`` writes six)."""
    if not value:
        return ""
    return value.replace(microsecond=0).isoformat()
