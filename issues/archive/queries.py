"""What the public archive shows, and how its pages are cached.

A sent issue's page is a pure function of its frozen snapshot and of its neighbours in the
archive (the previous/next links). So the cache key is built from exactly those facts,
read from the database on every request in one small precompiled query: a new snapshot, a
change of status or of ``show_in_archive``, or a neighbour appearing or leaving changes the
key, however the change was written (``save()``, ``update()``, the admin, a shell), and
nothing ever has to delete a cache entry. The same key, hashed, is the page's ``ETag``.
"""

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.cache import get_conditional_response
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import is_aware, make_aware

from ..models import Issue, Newsletter
from .sharing import card_url

# Bump when templates change in a way that must not wait for cached pages to expire.
PAGE_CACHE_VERSION = 1
PAGE_CACHE_SECONDS = getattr(settings, "ARCHIVE_CACHE_SECONDS", 24 * 3600)
# Browsers and proxies may keep a page this long before asking again (with its ETag).
BROWSER_MAX_AGE = 300
# Shared caches (CDNs, proxies) may keep a page only this long: an issue unpublished or
# corrected must leave them quickly, and they cannot be purged from here.
SHARED_CACHE_MAX_AGE = 60

# The snapshot columns a page never shows: left in the database.
UNSHOWN_SNAPSHOT_FIELDS = ("snapshot__email_html", "snapshot__text", "snapshot__search_text")


def public_issues() -> QuerySet[Issue]:
    """Issues anyone may read: sent, kept in the archive, with their snapshot (never a
    welcome email, which is sent to each new reader and published nowhere)."""
    return Issue.objects.filter(
        kind=Issue.Kind.ISSUE,
        status=Issue.Status.SENT,
        show_in_archive=True,
        snapshot__isnull=False,
    )


def archive_order(queryset: QuerySet[Issue]) -> QuerySet[Issue]:
    return queryset.order_by("-published_at", "-number", "-id")


def with_neighbours(issues: QuerySet[Issue]) -> QuerySet[Issue]:
    """Annotate the previous and next public issues of the same newsletter.

    As annotations (``prev_slug``, ``prev_title``, ``next_slug``, ``next_title``,
    ``next_published_at``) they cost no query of their own and can be part of a cache key.
    """
    neighbours = public_issues().filter(newsletter=OuterRef("newsletter"))
    earlier = neighbours.filter(number__lt=OuterRef("number")).order_by("-number")
    later = neighbours.filter(number__gt=OuterRef("number")).order_by("number")
    return issues.annotate(
        prev_slug=Subquery(earlier.values("slug")[:1]),
        prev_title=Subquery(earlier.values("title")[:1]),
        next_slug=Subquery(later.values("slug")[:1]),
        next_title=Subquery(later.values("title")[:1]),
        next_published_at=Subquery(later.values("published_at")[:1]),
    )


def issue_for_page(newsletter_slug: str, slug: str) -> Issue | None:
    """One issue in any state, with everything its page shows, in one query."""
    return (
        with_neighbours(Issue.objects.select_related("newsletter", "snapshot"))
        .defer(*UNSHOWN_SNAPSHOT_FIELDS)
        .filter(newsletter__slug=newsletter_slug, slug=slug)
        .first()
    )


class PreparedQuery:
    """An ORM query compiled to SQL once per process and database, then run with new values.

    Building and compiling a queryset with subqueries costs more Python time than running
    it; on the hot path of a cached page that time is most of the request. ``build``
    receives a marker for each name and returns a ``values_list`` queryset; the markers'
    places among the SQL parameters are remembered and filled with each call's values.
    Rows come back as the database driver returns them, without the ORM's conversions.
    """

    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build = build
        self.names = names
        self.compiled: dict[str, tuple[str, list]] = {}

    def compile(self, alias: str) -> tuple[str, list]:
        markers = {name: f"\ue000{name}\ue000" for name in self.names}
        queryset = self.build(**markers)
        sql, params = queryset.query.get_compiler(using=alias).as_sql()
        by_marker = {marker: name for name, marker in markers.items()}
        template = [(by_marker[p], None) if p in by_marker else (None, p) for p in params]
        return sql, template

    def first_row(self, **values) -> tuple | None:
        alias = DEFAULT_DB_ALIAS
        if alias not in self.compiled:
            self.compiled[alias] = self.compile(alias)
        sql, template = self.compiled[alias]
        params = [values[name] if name else constant for name, constant in template]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()


PUBLIC_ISSUE_FACTS = PreparedQuery(
    lambda newsletter_slug, slug: (
        with_neighbours(public_issues())
        .filter(newsletter__slug=newsletter_slug, slug=slug)
        .values_list(
            "snapshot__id",
            "snapshot__created_at",
            "prev_slug",
            "next_slug",
            "next_published_at",
            "snapshot__web_updated_at",  # a correction of the web version is a new page
        )[:1]
    ),
    "newsletter_slug",
    "slug",
)


@dataclass(frozen=True)
class PageFacts:
    """What a cached page depends on, and when it last changed."""

    key: tuple
    last_modified: datetime | None


class FreshnessWindow:
    """Remembers recent answers for ``ARCHIVE_FRESHNESS_SECONDS``, in this process only.

    Under load the same issue page is asked for many times a second; asking the database
    once a second instead of every time is most of the speed of a cached page. A change
    (send, unpublish) therefore shows within that window, never later. Zero turns it off.
    Per process, so it needs no shared cache and no invalidation message between web
    processes and the worker that sends.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, load: Callable):
        seconds = settings.ARCHIVE_FRESHNESS_SECONDS
        if seconds <= 0:
            return load()
        now = monotonic()
        with self.lock:
            entry = self.entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        with self.lock:
            self.entries[key] = (now + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value

    def clear(self):
        with self.lock:
            self.entries.clear()


recent_issue_facts = FreshnessWindow()


def public_issue_facts(newsletter_slug: str, slug: str) -> PageFacts | None:
    """The cache facts of a public issue's page; None if it is not public.

    One cheap query, at most once per freshness window per page and process.
    """
    return recent_issue_facts.get(
        (newsletter_slug, slug), lambda: read_public_issue_facts(newsletter_slug, slug)
    )


def read_public_issue_facts(newsletter_slug: str, slug: str) -> PageFacts | None:
    row = PUBLIC_ISSUE_FACTS.first_row(newsletter_slug=newsletter_slug, slug=slug)
    if row is None:
        return None
    snapshot_id, created_at, prev_slug, next_slug, next_published_at, web_updated_at = row
    changes = (created_at, next_published_at, web_updated_at)
    times = [as_datetime(t) for t in changes if t is not None]
    key = (
        "issue",
        snapshot_id,
        str(created_at),
        str(web_updated_at),
        Issue.Status.SENT,
        True,
        prev_slug,
        next_slug,
    )
    return PageFacts(key, max(times))


def as_datetime(value) -> datetime:
    """A driver's timestamp (SQLite gives text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if is_aware(value) else make_aware(value, UTC)


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
    configured = settings.SITE_NAME
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


def page_key(facts: Iterable) -> str:
    digest = hashlib.sha256(repr((PAGE_CACHE_VERSION, *facts)).encode()).hexdigest()
    return digest[:32]


def cached_page(
    request: HttpRequest, facts: PageFacts, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """Answer with 304, the cached page, or a freshly rendered (then cached) one.

    ``facts`` are everything the page depends on; ``render`` builds the page and is called
    only on a cache miss. Only public pages come through here: the answer is the same for
    every visitor, so it carries no cookie and may sit in shared caches.
    """
    key = page_key(facts.key)
    etag = f'"{key}"'
    timestamp = int(facts.last_modified.timestamp()) if facts.last_modified else None
    conditional = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if conditional is not None:
        return with_validators(conditional, etag, timestamp and http_date(timestamp))
    cache_key = f"archive:page:{key}"
    cached = cache.get(cache_key)
    if cached is None:
        response = render()
        if response.status_code != 200:
            return response
        # The Last-Modified header is kept formatted: formatting dates is slow.
        cached = (response.content, response["Content-Type"], timestamp and http_date(timestamp))
        cache.set(cache_key, cached, PAGE_CACHE_SECONDS)
    content, content_type, last_modified = cached
    return with_validators(HttpResponse(content, content_type=content_type), etag, last_modified)


def with_validators(response, etag: str, last_modified: str | None):
    """ETag, Last-Modified and Cache-Control, on full answers and 304s alike (RFC 9110)."""
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = last_modified
    response["Cache-Control"] = (
        f"public, max-age={BROWSER_MAX_AGE}, s-maxage={SHARED_CACHE_MAX_AGE}"
    )
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
    """The issue's cover, else its generated card; the site's card for other pages."""
    if issue is None:
        return absolute_url(static("superfast/share.png"))
    if issue.cover_image:
        return absolute_url(issue.cover_image.url)
    return absolute_url(card_url(issue))


JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def news_article_json_ld(issue: Issue) -> SafeString:
    """schema.org NewsArticle of a sent issue, safe to place inside a <script> element."""
    url = absolute_url(issue.get_absolute_url())
    published = (issue.published_at or issue.snapshot.created_at).isoformat()
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": issue.title,
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
