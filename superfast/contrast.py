"""WCAG 2 contrast between two colours: the one place the site computes it.

Used wherever a colour is chosen for text on another (the email's brand colour on its light
and dark backgrounds, the sharing card's ink on the brand colour) and by the tests that check
what a reader sees.
"""

AA_CONTRAST = 4.5


def channels(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as its three 0–255 channels."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def luminance(colour: str) -> float:
    """Relative luminance as WCAG 2 defines it (sRGB's 0.04045 threshold)."""

    def linear(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, other: str) -> float:
    """The contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def best_ink(background: str, inks: tuple[str, ...] = ("#ffffff", "#000000")) -> str:
    """The colour of ``inks`` that reads best on ``background`` (the first on a tie)."""
    return max(inks, key=lambda ink: contrast(ink, background.lower()))
