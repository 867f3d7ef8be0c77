"""What every template on the site may show: the absolute site URL, the site's name, its
brand colour and icon."""

from functools import cache

from django.conf import settings
from django.db import DatabaseError
from django.utils.functional import SimpleLazyObject

from .branding import Brand, site_brand
from .queries import site_name, site_newsletters


def site(request):
    """Absolute site URL for canonical links and sharing cards, the site's name and brand.

    Name and brand are looked up only when a page shows them (one query for both), so admin
    pages pay no query; views that already know them (the archive) set their own
    ``site_name`` and ``brand``, which win over these. A page that must answer with the
    database down (404) gets the stylesheet's own colours.
    """
    newsletters = cache(site_newsletters)

    def brand() -> Brand | None:
        try:
            return site_brand(newsletters())
        except DatabaseError:
            return None

    return {
        "SITE_URL": settings.SITE_URL,
        "SITE_ICON": settings.SITE_ICON,
        "site_name": SimpleLazyObject(lambda: site_name(newsletters())),
        "brand": SimpleLazyObject(brand),
    }
