"""Headers every public page carries."""

from django.urls import reverse

# Public pages run no script of their own: only files from this site, no inline code, no
# plugins, no framing. Issue content may show images from anywhere over https, and blocks
# style themselves inline (button colours), so inline styles stay allowed.
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


class ContentSecurityPolicyMiddleware:
    """Give every page outside the admin the public Content-Security-Policy.

    A page that sets its own policy keeps it; the admin is left alone (its own scripts
    and previews are staff-only and framed on purpose).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if not request.path.startswith(self.admin_prefix):
            response.headers.setdefault("Content-Security-Policy", PUBLIC_CONTENT_SECURITY_POLICY)
        return response
