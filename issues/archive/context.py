"""What every template on the site may show: the absolute site URL and the site's name."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .queries import site_name


def site(request):
    """Absolute site URL for canonical links and sharing cards, and the site's name.

    The name is looked up only when a page shows it, so admin pages pay no query; views that
    already know it (the archive) set their own ``site_name``, which wins over this one.
    """
    return {"SITE_URL": settings.SITE_URL, "site_name": SimpleLazyObject(site_name)}
