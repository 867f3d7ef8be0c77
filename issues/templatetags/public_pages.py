"""Filters of the public pages' templates."""

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def machine_time(value: datetime | None) -> str:
    """``value`` for a ``<time datetime>``: ISO 8601 to the second (HTML allows at most
    three digits of a second; Django's ``date:'c'`` writes six)."""
    if not value:
        return ""
    return value.replace(microsecond=0).isoformat()
