"""Old addresses of the public site: recorded once, answered with a 301 when nothing else
answers them.

Every cause of a moved address writes here through ``add_redirect`` (a correction that
changed an issue's slug; moving in from another platform), so the table stays one lookup
deep: no chains, no loops. ``RedirectFallbackMiddleware`` consults it only for a request
that would otherwise be a 404, so a redirect can never hide a page the site serves.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect

from ..models import Redirect
from ..models.redirects import validate_old_path, validate_site_path


def add_redirect(old_path: str, new_path: str) -> Redirect | None:
    """Make ``old_path`` answer 301 with ``new_path``; returns the redirect (None when the
    two are the same address, which needs none).

    The table stays one step deep: a ``new_path`` that itself moved is followed to where it
    went (A→B, then C→A, gives C→B), and redirects that led to ``old_path`` now lead to the
    new place (A→B, then B→C, gives A→C). An address moving back to where it came from
    (A→B, then B→A) is live again and loses its own redirect, so nothing ever loops. Both
    must be paths on this site (``ValidationError`` otherwise): nothing here can send a
    visitor elsewhere.
    """
    validate_old_path(old_path)
    validate_site_path(new_path)
    with transaction.atomic():
        target = (
            Redirect.objects.filter(old_path=new_path).values_list("new_path", flat=True).first()
        )
        if target is None or target == old_path:
            Redirect.objects.filter(old_path=new_path).delete()  # live (again)
            target = new_path
        Redirect.objects.filter(new_path=old_path).update(new_path=target)
        if old_path == target:
            Redirect.objects.filter(old_path=old_path).delete()
            return None
        redirect, _ = Redirect.objects.update_or_create(
            old_path=old_path, defaults={"new_path": target}
        )
    return redirect


def redirect_for(request: HttpRequest) -> HttpResponse | None:
    """The 301 for the path asked, keeping its query string, if the table has one.

    The target is checked again here: a row written past ``add_redirect`` (a shell, SQL)
    still cannot send a visitor to another site.
    """
    new_path = (
        Redirect.objects.filter(old_path=request.path).values_list("new_path", flat=True).first()
    )
    if new_path is None:
        return None
    try:
        validate_site_path(new_path)
    except ValidationError:
        return None
    query = request.META.get("QUERY_STRING", "")
    if query:
        new_path += ("&" if "?" in new_path else "?") + query
    return HttpResponsePermanentRedirect(new_path)


class RedirectFallbackMiddleware:
    """A GET or HEAD that found nothing (404) is tried against the redirect table.

    Innermost in ``MIDDLEWARE``: it sees the view's 404 before ``CommonMiddleware`` would
    add a slash, so an old address without one (Substack's ``/p/<slug>``) is found as is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        try:
            return redirect_for(request) or response
        except DatabaseError:  # a 404 must not fail because the database is down
            return response
