"""Link previews: the title and a one-line note a pasted link's page gives about itself.

The editor pastes a URL into an empty link-list row; the row shows it at once and asks
``preview_for`` (through the admin's JSON endpoint) until the worker has fetched the page
(``fetch_preview``, through the one fetcher) and stored what its metadata says: Open Graph
first, then ``<title>`` and the meta description. An arXiv id or URL is looked up on its
abstract page, whose ``citation_title`` and ``citation_author`` give the paper's title and
first author. Answers are kept for ``LINK_PREVIEW_CACHE_DAYS`` days, failures for an hour.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Issue, LinkPreview, TrackedLink
from . import queue
from .fetcher import FetchError, fetch

# arXiv ids: new style (2401.12345, with an optional version) and old style (hep-th/9901001).
ARXIV_ID = r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)"
ARXIV = re.compile(
    rf"^\s*(?:arxiv:\s*{ARXIV_ID}|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{ARXIV_ID}"
    r"(?:\.pdf)?/?(?:[?#].*)?|(\d{4}\.\d{4,5}(?:v\d+)?))\s*$",
    re.IGNORECASE,
)
NOTE_LENGTH = 200
FAILED_KEPT = timedelta(hours=1)
PENDING_KEPT = timedelta(minutes=2)  # a fetch lost with its worker is asked for again


class Preview(TypedDict):
    """The endpoint's JSON: ``status`` is pending, ready or failed."""

    url: str
    status: str
    title: str
    note: str
    error: str
    sent_in: list[int]


def arxiv_id(text: str) -> str:
    """The arXiv id ``text`` names (an id, ``arXiv:id`` or an arxiv.org link), or ""."""
    match = ARXIV.match(text)
    if not match:
        return ""
    return next(value for value in match.groups() if value)


def canonical_url(text: str) -> str:
    """The link a row keeps for ``text``: an arXiv id becomes its abstract page."""
    paper = arxiv_id(text)
    return f"https://arxiv.org/abs/{paper}" if paper else text.strip()


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def preview_for(text: str, *, newsletter_id: int | None = None) -> Preview:
    """What is known about the link ``text`` now; a fetch is asked for when nothing fresh is.

    ``sent_in`` lists the numbers of the newsletter's sent issues that already carried the
    link, so the same story is not sent twice by accident."""
    url = canonical_url(text)
    row = LinkPreview.objects.filter(url_hash=url_hash(url)).first()
    if row is None or stale(row):
        row = ask_for_fetch(url, row)
    return {
        "url": url,
        "status": row.status,
        "title": row.title,
        "note": row.note,
        "error": row.error,
        "sent_in": sent_in(url, newsletter_id) if newsletter_id else [],
    }


def stale(row: LinkPreview) -> bool:
    now = timezone.now()
    if row.status == LinkPreview.Status.PENDING:
        return row.requested_at < now - PENDING_KEPT
    kept = (
        timedelta(days=settings.LINK_PREVIEW_CACHE_DAYS)
        if row.status == LinkPreview.Status.READY
        else FAILED_KEPT
    )
    return (row.fetched_at or row.requested_at) < now - kept


def ask_for_fetch(url: str, row: LinkPreview | None) -> LinkPreview:
    """Mark the link pending and enqueue one fetch (a second poll finds it pending)."""
    pending = {
        "url": url,
        "status": LinkPreview.Status.PENDING,
        "requested_at": timezone.now(),
        "error": "",
    }
    if row is None:
        try:
            with transaction.atomic():
                row = LinkPreview.objects.create(url_hash=url_hash(url), **pending)
        except IntegrityError:  # another poll asked first
            return LinkPreview.objects.get(url_hash=url_hash(url))
    else:
        LinkPreview.objects.filter(pk=row.pk).update(**pending)
        row.refresh_from_db()
    transaction.on_commit(lambda: queue.enqueue_link_preview(url))
    return row


def sent_in(url: str, newsletter_id: int) -> list[int]:
    """Numbers of the newsletter's sent issues whose link table holds ``url``."""
    variants = {url, url.rstrip("/"), url.rstrip("/") + "/"}
    numbers = (
        TrackedLink.objects.filter(
            url__in=variants,
            is_canary=False,
            issue__newsletter_id=newsletter_id,
            issue__kind=Issue.Kind.ISSUE,
            issue__status=Issue.Status.SENT,
        )
        .values_list("issue__number", flat=True)
        .distinct()
    )
    return sorted({number for number in numbers if number is not None}, reverse=True)


def fetch_preview(url: str) -> str:
    """The worker's part: fetch the page, store what it says; returns the status stored."""
    paper = arxiv_id(url)
    try:
        page = fetch(
            f"{settings.ARXIV_ABS_URL}{paper}" if paper else url,
            truncate=True,
            accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        )
        if page.status >= 400:
            raise FetchError(f"the page answered {page.status}")
        if page.content_type not in ("text/html", "application/xhtml+xml"):
            raise FetchError(f"not a web page ({page.content_type or 'no type'})")
        meta = read_metadata(page.body, page.charset)
        title, note = paper_summary(meta) if paper else page_summary(meta)
        if not title:
            raise FetchError("the page gives no title")
    except FetchError as error:
        store(url, status=LinkPreview.Status.FAILED, error=str(error)[:300])
        return LinkPreview.Status.FAILED
    except ValueError:  # a host name no encoding takes, a URL http.client will not send
        store(url, status=LinkPreview.Status.FAILED, error="the link could not be read")
        return LinkPreview.Status.FAILED
    store(url, status=LinkPreview.Status.READY, title=title[:300], note=note[:300])
    return LinkPreview.Status.READY


def store(url: str, **fields: str) -> None:
    now = timezone.now()
    LinkPreview.objects.update_or_create(
        url_hash=url_hash(url),
        defaults={"url": url, "fetched_at": now, "title": "", "note": "", "error": "", **fields},
        create_defaults={
            "url": url,
            "requested_at": now,
            "fetched_at": now,
            "title": "",
            "note": "",
            "error": "",
            **fields,
        },
    )


@dataclass
class Metadata:
    """What a page's head says: ``<meta>`` values by lower-cased name or property (all
    values, in order), and the text of ``<title>``."""

    values: dict[str, list[str]] = field(default_factory=dict)
    title: str = ""

    def first(self, *names: str) -> str:
        for name in names:
            for value in self.values.get(name, []):
                if one_line(value):
                    return one_line(value)
        return ""


class MetadataParser(HTMLParser):
    """Python's HTML parser (a real tokenizer: comments, scripts and attribute quoting as a
    browser reads them), collecting ``<meta>`` and ``<title>`` until ``<body>`` begins."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metadata = Metadata()
        self.in_title = False
        self.title_parts: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "meta":
            found = {name.lower(): value or "" for name, value in attrs}
            key = (found.get("property") or found.get("name") or "").strip().lower()
            if key and "content" in found:
                self.metadata.values.setdefault(key, []).append(found["content"])
        elif tag == "title" and not self.metadata.title:
            self.in_title = True
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.in_title:
            self.in_title = False
            self.metadata.title = one_line("".join(self.title_parts))

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)


def read_metadata(body: bytes, charset: str = "") -> Metadata:
    """The metadata of an HTML document, decoded by its declared charset (or UTF-8)."""
    declared = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", body[:4096], re.IGNORECASE)
    encoding = charset or (declared[1].decode("ascii") if declared else "utf-8")
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    parser = MetadataParser()
    parser.feed(text)
    parser.close()
    return parser.metadata


def one_line(text: str) -> str:
    return " ".join(text.split())


def shortened(text: str, length: int = NOTE_LENGTH) -> str:
    """``text`` cut at a word boundary to at most ``length`` characters, with an ellipsis."""
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def page_summary(meta: Metadata) -> tuple[str, str]:
    """(title, note) of a web page: Open Graph, then Twitter's card, then the HTML's own."""
    title = meta.first("og:title", "twitter:title") or meta.title
    note = meta.first("og:description", "twitter:description", "description")
    return title, shortened(note)


def paper_summary(meta: Metadata) -> tuple[str, str]:
    """(title, note) of an arXiv abstract page: the paper's title and its first author."""
    authors = [one_line(name) for name in meta.values.get("citation_author", []) if name.strip()]
    first = ""
    if authors:
        family, _, given = authors[0].partition(",")
        first = f"{given.strip()} {family.strip()}".strip()
        if len(authors) > 1:
            first += " et al."
    return meta.first("citation_title") or page_summary(meta)[0], first
