"""The Content-Security-Policy of every page: public pages, the admin, and issue content.

Three policies, one per kind of page:

- Public pages run no script of their own: only files from this site, no inline code, no
  plugins, no framing. Issue content may show images from anywhere over https, and blocks
  style themselves inline (button colours), so inline styles stay allowed.
- The admin runs Django's scripts and ours, all files from ``static/``: no inline script,
  no event-handler attribute, no ``javascript:`` URL runs there. Styles may be inline:
  Django's admin templates and widgets write ``style`` attributes, and the live preview's
  frame (``srcdoc``, which takes the admin page's policy) shows email HTML, which is inline
  styles throughout. Frames and forms stay on the site; only the admin frames the admin.
- A page that shows issue content (previews, the click map) is ``sandbox``ed without
  ``allow-scripts`` or ``allow-same-origin``: nothing in an issue, whatever the sanitizer
  let through or an imported snapshot holds, runs at all, and the page gets an origin of
  its own, so it can neither read the admin nor act as a logged-in editor.
"""

from functools import wraps

from django.conf import settings
from django.middleware.gzip import GZipMiddleware
from django.urls import reverse

PUBLIC_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def images_from() -> str:
    """Where issue images come from: this site, the site's public address (images in
    rendered issues are absolute, at ``SITE_URL``), anywhere over https, and data URLs."""
    return f"'self' {settings.SITE_URL} https: data:"


def admin_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images_from()}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def issue_content_policy() -> str:
    """Sandboxed (scripts, forms, popups, same origin: all off) and framed by the admin only."""
    return "; ".join(
        [
            "sandbox",
            "default-src 'self'",
            "script-src 'none'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images_from()}",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ]
    )


def shows_issue_content(view):
    """Decorate a view (or an admin method) whose page shows an issue's HTML."""

    @wraps(view)
    def sandboxed_view(*args, **kwargs):
        response = view(*args, **kwargs)
        response.headers["Content-Security-Policy"] = issue_content_policy()
        return response

    return sandboxed_view


class ContentSecurityPolicyMiddleware:
    """Give every page the public policy, and the admin's pages the admin policy.

    A page that sets its own policy (issue content, ``shows_issue_content``) keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path.startswith(self.admin_prefix):
            policy = admin_policy()
        else:
            policy = PUBLIC_CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


def carries_secrets(request, response) -> bool:
    """Whether a page holds something of one visitor's that an attacker could guess at.

    BREACH reads a secret out of a compressed page whose length changes with guesses
    reflected into it. A page that rendered a CSRF token, or one marked ``private`` or
    ``no-store`` (``never_cache``: the subscriber pages, the admin), is sent uncompressed.
    """
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies:
        return True
    cache_control = response.get("Cache-Control", "")
    return "private" in cache_control or "no-store" in cache_control


class PublicGZipMiddleware(GZipMiddleware):
    """Django's gzip for the pages everyone gets the same (archive, issues, feeds, search),
    never for pages that carry a visitor's secrets (``carries_secrets``)."""

    def process_response(self, request, response):
        if carries_secrets(request, response):
            return response
        return super().process_response(request, response)
