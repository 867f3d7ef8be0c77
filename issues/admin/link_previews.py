"""The link preview endpoint the editor polls after pasting a link into a link-list row.

``GET /admin/issues/issue/link-preview/?url=…&newsletter=<id>`` answers JSON at once: the
link as the row keeps it, ``status`` (pending until the worker has fetched the page), the
title and note its page gives, and ``sent_in``, the numbers of the newsletter's sent issues
that carried it already. Editors only (``issues.change_issue``): it makes the server fetch.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path

from ..importers.fetcher import Refused, checked_target
from ..importers.link_preview import arxiv_id, preview_for

MAX_URL_LENGTH = 2000


class LinkPreviewAdminMixin:
    def get_urls(self):
        own = [
            path(
                "link-preview/",
                self.admin_site.admin_view(self.link_preview_view),
                name="issues_issue_link_preview",
            )
        ]
        return own + super().get_urls()

    def link_preview_view(self, request):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        if not request.user.has_perm("issues.change_issue"):
            raise PermissionDenied
        text = request.GET.get("url", "").strip()
        problem = link_problem(text)
        if problem:
            return JsonResponse({"error": problem}, status=400)
        newsletter = request.GET.get("newsletter", "")
        return JsonResponse(
            preview_for(text, newsletter_id=int(newsletter) if newsletter.isdigit() else None)
        )


def link_problem(text: str) -> str:
    """Why ``text`` is no link to preview ("" when it is one)."""
    if not text or len(text) > MAX_URL_LENGTH:
        return f"Give a link of at most {MAX_URL_LENGTH} characters."
    if arxiv_id(text):
        return ""
    try:
        checked_target(text)
    except Refused as refusal:
        return str(refusal).capitalize() + "."
    return ""
