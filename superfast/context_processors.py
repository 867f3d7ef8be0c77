from django.conf import settings


def site(request):
    """Absolute site URL for canonical links and sharing cards."""
    return {"SITE_URL": settings.SITE_URL}
