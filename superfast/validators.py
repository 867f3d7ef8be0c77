"""Validators shared by the apps."""

import unicodedata

from django.core.exceptions import ValidationError


def refuse_control_characters(value: str) -> None:
    """Refuse line breaks and other control characters in one-line text.

    Subjects, sender names and preheaders end up in mail headers, where a CR/LF would
    start a new header (or make the mail library refuse the message in the worker, long
    after the editor saved). Said next to the field, at save time, instead.
    """
    found = {char for char in value or "" if unicodedata.category(char) == "Cc"}
    if found & {"\r", "\n"}:
        raise ValidationError("Keep this on one line: line breaks are not allowed here.")
    if found:
        raise ValidationError(
            "This contains invisible control characters (often pasted along); retype it."
        )
