"""What the public archive shows, and how its pages are cached.

A sent issue's page is a pure function of its frozen snapshot and of its neighbours in the
archive (the previous/next links). So the cache key is built from exactly those facts,
read in the one query that loads the page: a new snapshot, a change of status or of
``show_in_archive``, or a neighbour appearing or leaving changes the key, and nothing ever
has to delete a cache entry. The same key, hashed, is the page's ``ETag``.
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.safestring import SafeString, mark_safe

from .models import Issue, Newsletter

# Bump when templates change in a way that must not wait for cached pages to expire.
PAGE_CACHE_VERSION = 1
PAGE_CACHE_SECONDS = getattr(settings, "ARCHIVE_CACHE_SECONDS", 24 * 3600)
# Browsers and proxies may keep a page this long before asking again (with its ETag).
BROWSER_MAX_AGE = 300

# The snapshot columns a page never shows: left in the database.
UNSHOWN_SNAPSHOT_FIELDS = ("snapshot__email_html", "snapshot__text", "snapshot__search_text")


def public_issues() -> QuerySet[Issue]:
    """Issues anyone may read: sent, kept in the archive, with their snapshot."""
    return Issue.objects.filter(
        status=Issue.Status.SENT, show_in_archive=True, snapshot__isnull=False
    )


def archive_order(queryset: QuerySet[Issue]) -> QuerySet[Issue]:
    return queryset.order_by("-published_at", "-number", "-id")


def issue_for_page(newsletter_slug: str, slug: str) -> Issue | None:
    """One issue in any state, with everything its page shows, in one query.

    The previous and next public issues of the same newsletter come as annotations
    (``prev_slug``, ``prev_title``, ``next_slug``, ``next_title``, ``next_published_at``),
    so they cost no query of their own and can take part in the cache key.
    """
    neighbours = public_issues().filter(newsletter=OuterRef("newsletter"))
    earlier = neighbours.filter(number__lt=OuterRef("number")).order_by("-number")
    later = neighbours.filter(number__gt=OuterRef("number")).order_by("number")
    return (
        Issue.objects.select_related("newsletter", "snapshot")
        .defer(*UNSHOWN_SNAPSHOT_FIELDS)
        .annotate(
            prev_slug=Subquery(earlier.values("slug")[:1]),
            prev_title=Subquery(earlier.values("title")[:1]),
            next_slug=Subquery(later.values("slug")[:1]),
            next_title=Subquery(later.values("title")[:1]),
            next_published_at=Subquery(later.values("published_at")[:1]),
        )
        .filter(newsletter__slug=newsletter_slug, slug=slug)
        .first()
    )


def latest_public_issue() -> Issue | None:
    return (
        archive_order(public_issues())
        .select_related("newsletter", "snapshot")
        .defer(*UNSHOWN_SNAPSHOT_FIELDS)
        .first()
    )


def newsletters_with_latest() -> list[Newsletter]:
    """Every newsletter, each with its latest public issue's slug and title (or None)."""
    latest = archive_order(public_issues().filter(newsletter=OuterRef("pk")))
    return list(
        Newsletter.objects.annotate(
            latest_slug=Subquery(latest.values("slug")[:1]),
            latest_title=Subquery(latest.values("title")[:1]),
        )
    )


def site_name(newsletters: list[Newsletter] | None = None) -> str:
    """The site's name: SITE_NAME when set, else its only newsletter's name."""
    configured = getattr(settings, "SITE_NAME", "")
    if configured:
        return configured
    if newsletters is None:
        newsletters = list(Newsletter.objects.only("name")[:2])
    return newsletters[0].name if len(newsletters) == 1 else "Newsletter archive"


def snapshot_of(issue: Issue):
    """The issue's snapshot, or None while it has none (drafts)."""
    try:
        return issue.snapshot
    except Issue.snapshot.RelatedObjectDoesNotExist:
        return None


def issue_page_facts(issue: Issue) -> tuple:
    """Everything an issue's cached page depends on."""
    snapshot = issue.snapshot
    return (
        "issue",
        snapshot.pk,
        snapshot.created_at.isoformat(),
        issue.status,
        issue.show_in_archive,
        issue.prev_slug,
        issue.next_slug,
    )


def issue_last_modified(issue: Issue) -> datetime:
    """The snapshot's time, or the next issue's when that link appeared later."""
    times = [issue.snapshot.created_at, getattr(issue, "next_published_at", None)]
    return max(time for time in times if time is not None)


def page_key(facts: Iterable) -> str:
    digest = hashlib.sha256(repr((PAGE_CACHE_VERSION, *facts)).encode()).hexdigest()
    return digest[:32]


def cached_page(
    request: HttpRequest,
    facts: Iterable,
    last_modified: datetime | None,
    render: Callable[[], HttpResponse],
) -> HttpResponse:
    """Answer with 304, the cached page, or a freshly rendered (then cached) one.

    ``facts`` are everything the page depends on; ``render`` builds the page and is called
    only on a cache miss. Only public pages come through here: the answer is the same for
    every visitor, so it carries no cookie and may sit in shared caches.
    """
    key = page_key(facts)
    etag = f'"{key}"'
    conditional = get_conditional_response(
        request, etag=etag, last_modified=last_modified and int(last_modified.timestamp())
    )
    if conditional is not None:
        return with_validators(conditional, etag, last_modified)
    cache_key = f"archive:page:{key}"
    cached = cache.get(cache_key)
    if cached is None:
        response = render()
        if response.status_code != 200:
            return response
        cached = (response.content, response["Content-Type"])
        cache.set(cache_key, cached, PAGE_CACHE_SECONDS)
    content, content_type = cached
    return with_validators(HttpResponse(content, content_type=content_type), etag, last_modified)


def with_validators(response, etag, last_modified):
    """ETag, Last-Modified and Cache-Control, on full answers and 304s alike (RFC 9110)."""
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    patch_cache_control(response, public=True, max_age=BROWSER_MAX_AGE)
    return response


def absolute_url(path: str) -> str:
    """``path`` on the public site (SITE_URL), for feeds, sitemaps and sharing cards."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", path, re.IGNORECASE):
        return path
    return settings.SITE_URL + "/" + path.lstrip("/")


LOCAL_LINK = re.compile(r"""(\s(?:href|src)=)(["'])(/(?!/)[^"']*|#[^"']*)\2""", re.IGNORECASE)


def absolutize_links(html: str, page_url: str) -> str:
    """Make the site-relative links and fragments of ``html`` absolute, for feed readers.

    Root-relative paths (``/media/...``) join SITE_URL; fragments (``#section``) join
    ``page_url``. External and protocol-relative links stay as they are.
    """

    def replace(match):
        prefix, quote, link = match.groups()
        target = page_url + link if link.startswith("#") else absolute_url(link)
        return f"{prefix}{quote}{target}{quote}"

    return LOCAL_LINK.sub(replace, html)


def sharing_image_url(issue: Issue | None = None) -> str:
    """The issue's cover, or the site's default card image, as an absolute URL."""
    if issue is not None and issue.cover_image:
        return absolute_url(issue.cover_image.url)
    return absolute_url(static("superfast/share.png"))


JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def news_article_json_ld(issue: Issue) -> SafeString:
    """schema.org NewsArticle of a sent issue, safe to place inside a <script> element."""
    url = absolute_url(issue.get_absolute_url())
    published = (issue.published_at or issue.snapshot.created_at).isoformat()
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": issue.snapshot.subject or issue.title,
        "description": issue.snapshot.preheader or issue.newsletter.description,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": published,
        "dateModified": issue.snapshot.created_at.isoformat(),
        "image": [sharing_image_url(issue)],
        "inLanguage": issue.newsletter.language,
        "author": {"@type": "Organization", "name": issue.newsletter.from_name},
        "publisher": {"@type": "Organization", "name": issue.newsletter.name},
    }
    return mark_safe(json.dumps(data).translate(JSON_SCRIPT_ESCAPES))
