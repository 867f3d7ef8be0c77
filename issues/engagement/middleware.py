"""Tracked links and the open pixel, answered before the rest of the middleware stack.

The redirect is the hot path: thousands of readers click in the first minutes after a
send. It needs no session, user, CSRF check or template, so it is answered right after the
security and static-file middleware, the way WhiteNoise answers static files, instead of
after every layer of the site. Paths:

- ``/c/<link part>/<reader part>``: the click redirect (``views.click``);
- ``/o/<issue>/<reader part>.gif``: the open pixel (``views.pixel``).

Skipping the later layers does not skip host validation: the request's host is checked
against ``ALLOWED_HOSTS`` first (``get_host`` raises ``DisallowedHost``, which Django answers
with 400), so a request for another host neither redirects nor records anything.
"""

from . import recorder, views

CLICK_PREFIX = "/c/"
OPEN_PREFIX = "/o/"
TRACKED_PATHS = {"c", "o"}  # no newsletter may take these slugs


class TrackedLinkMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # The click buffer's client, made as the web process loads (only web processes load
        # middleware): made on the first click, its import (about 120 ms) held up that click
        # and every click queued behind it.
        recorder.redis_client()

    def __call__(self, request):
        path = request.path_info
        if path.startswith((CLICK_PREFIX, OPEN_PREFIX)):
            request.get_host()  # what CommonMiddleware would check, before anything counts
        if path.startswith(CLICK_PREFIX):
            parts = path[len(CLICK_PREFIX) :].split("/")
            if len(parts) == 2 and all(parts):
                return views.click(request, *parts)
            return views.not_found()
        if path.startswith(OPEN_PREFIX):
            parts = path[len(OPEN_PREFIX) :].split("/")
            if len(parts) == 2 and parts[0] and parts[1].endswith(".gif"):
                return views.pixel(request, parts[0], parts[1].removesuffix(".gif"))
            return views.not_found()
        return self.get_response(request)
