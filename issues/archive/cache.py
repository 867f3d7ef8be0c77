"""How the archive's pages are cached.

A sent issue's page is a pure function of its frozen snapshot and of its neighbours in the
archive (the previous/next links). So the cache key is built from exactly those facts,
read from the database on every request in one small precompiled query: a new snapshot, a
correction (its time), a change of status or of the snapshot's ``show_in_archive``, or a
neighbour appearing, leaving or being retitled changes the key, however the change was
written (``save()``, ``update()``, the admin, a shell), and nothing ever has to delete a
cache entry. The same key, hashed, is the page's ``ETag``.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.utils.timezone import is_aware, make_aware

from ..models import Issue
from .queries import public_issues, with_neighbours

# Bump when templates change in a way that must not wait for cached pages to expire.
PAGE_CACHE_VERSION = 1
PAGE_CACHE_SECONDS = getattr(settings, "ARCHIVE_CACHE_SECONDS", 24 * 3600)
# Browsers and proxies may keep a page this long before asking again (with its ETag).
BROWSER_MAX_AGE = 300
# Shared caches (CDNs, proxies) may keep a page only this long: an issue unpublished or
# corrected must leave them quickly, and they cannot be purged from here.
SHARED_CACHE_MAX_AGE = 60


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
        .filter(newsletter__slug=newsletter_slug, snapshot__slug=slug)
        .values_list(
            "snapshot__id",
            "snapshot__created_at",
            "prev_slug",
            "next_slug",
            "next_published_at",
            "snapshot__web_updated_at",  # a correction of the web version is a new page
            "prev_title",  # and a correction of a neighbour's title changes the links
            "next_title",
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
    snapshot_id, created_at, prev_slug, next_slug, next_published_at, web_updated_at = row[:6]
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
        *row[6:],
    )
    return PageFacts(key, max(times))


def as_datetime(value) -> datetime:
    """A driver's timestamp (SQLite gives text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if is_aware(value) else make_aware(value, UTC)


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
