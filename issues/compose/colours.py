"""Colours an email can be read in: the brand colour, nudged until it meets WCAG AA.

A newsletter picks one brand colour; links and buttons use it. On the light page and on the
dark-mode page the same colour is often unreadable (a deep violet on near-black is 2:1), so
each use gets the brand colour mixed towards white or black just enough for 4.5:1 against
the backgrounds it sits on. The brand stays recognisable; the text stays readable.
"""

from dataclasses import dataclass

from superfast.contrast import AA_CONTRAST, best_ink, channels, contrast

LIGHT_BACKGROUNDS = ("#fdfdfb", "#eef3fb", "#f6f1e7")  # page, callout, quiz (email.html)
DARK_BACKGROUNDS = ("#242427", "#2e2f35", "#1b1b1d")  # the same in dark mode
WHITE, BLACK = "#ffffff", "#000000"


def mix(colour: str, towards: str, share: float) -> str:
    pairs = zip(channels(colour), channels(towards), strict=True)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in pairs)


def readable_on(colour: str, backgrounds: tuple[str, ...], *, towards: str) -> str:
    """``colour`` mixed towards ``towards`` in small steps until it reads on every background."""
    for step in range(21):
        candidate = mix(colour.lower(), towards, step / 20)
        if all(contrast(candidate, bg) >= AA_CONTRAST for bg in backgrounds):
            return candidate
    return towards


@dataclass(frozen=True)
class EmailColours:
    """The brand colour as each part of the email uses it."""

    brand: str
    link: str
    dark_link: str
    button_text: str


def text_colour_on(background: str) -> str:
    """White or black, whichever reads better on ``background`` (a button's brand colour)."""
    return best_ink(background, (WHITE, BLACK))


def email_colours(brand: str) -> EmailColours:
    brand = brand.lower()
    return EmailColours(
        brand=brand,
        link=readable_on(brand, LIGHT_BACKGROUNDS, towards=BLACK),
        dark_link=readable_on(brand, DARK_BACKGROUNDS, towards=WHITE),
        button_text=text_colour_on(brand),
    )
