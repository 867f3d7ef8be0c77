"""``{{ text|in_colour }}``: emoji in a title drawn in colour, like those in the issue body."""

from django import template

from issues.compose.emoji_presentation import in_colour as add_variation_selectors

register = template.Library()


@register.filter
def in_colour(text):
    """Plain text in, plain text out: autoescaping still applies after it."""
    return add_variation_selectors(str(text))
