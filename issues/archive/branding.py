"""The site's look, drawn from its newsletters: the brand colour of its pages and its icon.

Every public page uses one accent colour, the brand colour of the newsletter it belongs to
(the first newsletter's on pages of the whole site), nudged just enough to read at 4.5:1 on
the light and on the dark page (``site.css`` holds the rest of the palette). The icon in
browser tabs is a setting (``SITE_ICON``); without it the site draws one: its initial on the
brand colour, as an SVG for browsers that take one and an ``.ico`` for ``/favicon.ico``.
"""

import io
from dataclasses import dataclass
from functools import cached_property, lru_cache

from django.conf import settings
from PIL import Image, ImageDraw

from superfast.contrast import best_ink

from ..compose.colours import BLACK, WHITE, readable_on
from ..models import Newsletter
from .sharing import font

# The palette's own accent when there is no newsletter yet.
DEFAULT_COLOUR = "#0b57d0"
# What links and buttons sit on: site.css's --bg and --panel, light and dark.
LIGHT_PAGE = ("#ffffff", "#f4f5f7")
DARK_PAGE = ("#15171b", "#1f2228")
ICO_SIZES = ((16, 16), (32, 32), (48, 48))


@dataclass(frozen=True)
class Brand:
    """A brand colour and the letter the site's icon shows."""

    colour: str = DEFAULT_COLOUR
    initial: str = "S"

    @cached_property
    def light(self) -> str:
        """The accent on the light page: links, buttons, rules."""
        return readable_on(self.colour, LIGHT_PAGE, towards=BLACK)

    @cached_property
    def dark(self) -> str:
        """The accent on the dark page."""
        return readable_on(self.colour, DARK_PAGE, towards=WHITE)

    @cached_property
    def ink(self) -> str:
        """The initial's colour on the icon."""
        return best_ink(self.colour)


def initial_of(name: str) -> str:
    return next((c.upper() for c in name if c.isalnum()), "S")


def brand_of(newsletter: Newsletter | None, name: str = "") -> Brand:
    """``newsletter``'s brand; its initial is that of ``name`` (the site's) or its own."""
    if newsletter is None:
        return Brand(initial=initial_of(name or settings.SITE_NAME or "S"))
    return Brand(newsletter.brand_color.lower(), initial_of(name or newsletter.name))


def site_brand(newsletters: list[Newsletter] | None = None) -> Brand:
    """The site's brand: its first newsletter's colour, the initial of the site's name."""
    if newsletters is None:
        newsletters = list(Newsletter.objects.order_by("pk").only("name", "brand_color")[:1])
    first = min(newsletters, key=lambda n: n.pk, default=None)
    return brand_of(first, settings.SITE_NAME)


def icon_svg(brand: Brand) -> str:
    """The initial on a rounded square of the brand colour, as SVG text."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="14" fill="{brand.colour}"/>'
        '<text x="32" y="45" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" '
        f'font-size="38" font-weight="700" text-anchor="middle" fill="{brand.ink}">'
        f"{brand.initial}</text></svg>"
    )


@lru_cache(maxsize=8)
def icon_ico(brand: Brand) -> bytes:
    """The same icon as a Windows icon file (16, 32 and 48 px), drawn with Pillow."""
    size = 192  # drawn large, scaled down into each of the icon's sizes
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=42, fill=brand.colour)
    draw.text((size / 2, size / 2), brand.initial, font=font(120), fill=brand.ink, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=ICO_SIZES)
    return out.getvalue()
