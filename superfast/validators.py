"""Validators shared by the apps."""

import re

from django.core.exceptions import ValidationError

# Unicode's control characters (category Cc: C0, DEL and C1) and its line and paragraph
# separators: none belongs in one-line text, and a CR/LF in a mail header starts a new one.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # str.splitlines' set


def has_control_characters(value: str | None) -> bool:
    """Whether ``value`` holds a character that one-line text must not (``CONTROL_CHARACTERS``)."""
    return CONTROL_CHARACTERS.search(value or "") is not None


def refuse_control_characters(value: str) -> None:
    """Refuse line breaks and other control characters in one-line text.

    Subjects, sender names and preheaders end up in mail headers, where a CR/LF would
    start a new header (or make the mail library refuse the message in the worker, long
    after the editor saved). Said next to the field, at save time, instead.
    """
    found = set(CONTROL_CHARACTERS.findall(value or ""))
    if found & LINE_BREAKS:
        raise ValidationError("Keep this on one line: line breaks are not allowed here.")
    if found:
        raise ValidationError(
            "This contains invisible control characters (often pasted along); retype it."
        )
