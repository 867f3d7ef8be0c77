"""Emoji in colour: the variation selector U+FE0F after emoji that may be drawn as text.

Some emoji (🗞, ☀, ⚠, ❤, ✈, ☕ ...) are drawn as small black glyphs unless U+FE0F follows them;
editors type or paste them without it, and mail clients and browsers then differ. Adding it
makes every client draw them in colour. Symbols that are mostly typography (©, ®, ™, arrows,
geometric shapes, ‼) keep their text form.
"""

import re
from functools import cache

VS15, VS16, ZWJ = "\ufe0e", "\ufe0f", "\u200d"
SKIN_TONES = "\U0001f3fb-\U0001f3ff"
KEEP_AS_TEXT = set("©®™‼⁉ℹ↔↕↖↗↘↙↩↪▪▫▶◀◻◼➡⤴⤵⬅⬆⬇〰〽Ⓜ")
TAG = re.compile(r"(<[^>]*>)")


@cache
def text_default_emoji() -> re.Pattern:
    """Emoji drawn as text unless U+FE0F follows, not already followed by a selector.

    Those whose fully-qualified form adds U+FE0F, and the emoji below U+3000 (☕, ⚡, ⭐...):
    common text fonts carry a black glyph for them, which browsers pick over the emoji font
    when nothing asks for emoji presentation.

    The emoji package is imported here, on first use: loading its table takes about 80 ms,
    which every worker and ``manage.py`` start would otherwise pay before rendering anything.
    """
    import emoji

    chars = sorted(
        char
        for char in emoji.EMOJI_DATA
        if len(char) == 1
        and (char + VS16 in emoji.EMOJI_DATA or ord(char) < 0x3000)
        and char not in KEEP_AS_TEXT
    )
    return re.compile(f"([{re.escape(''.join(chars))}])(?![{VS15}{VS16}{SKIN_TONES}])")


def in_colour(text: str) -> str:
    """``text`` with U+FE0F after each emoji that would otherwise show in text style."""
    return text_default_emoji().sub(lambda match: match[1] + VS16, text)


def html_in_colour(html: str) -> str:
    """The same for HTML (or text with ``<url>``s): only outside tags, so URLs stay intact."""
    return "".join(
        part if part.startswith("<") else in_colour(part) for part in TAG.split(html or "")
    )
