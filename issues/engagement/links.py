"""The link table and the rewriting of an issue's links, at the one render for sending.

Every http(s) link of the email (HTML and plain text) becomes
``SITE_URL/c/<link part>/<reader marker>``: the link part is signed here, once; the reader
marker is substituted per recipient like the unsubscribe URL (``issues.compose.markers``). The
unsubscribe, preferences and view-in-browser links stay as they are, and so do mailto links.
One row per placement of a link goes into ``TrackedLink``, the redirect's only source of
targets: a URL placed twice is two rows, so the report tells which placement readers used.
The plain-text part's n-th link to a URL is the HTML's n-th placement of it (the first
when the text has more).

A hidden canary link, which no person can see or reach, comes first in the body: security
gateways fetch every href they find, so whatever follows it is a machine. With the
newsletter's open tracking on, a 1×1 image at the end of the body loads ``/o/...``.
"""

import html
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils.html import strip_tags

from ..compose.markers import Markers
from ..models import Issue, TrackedLink
from .middleware import CLICK_PREFIX, OPEN_PREFIX
from .pseudonyms import issue_keys
from .tokens import base36, key_of, link_token

CANARY_POSITION = 0
ANCHOR = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)("[^>]*>)(.*?)(</a>)', re.I | re.S)
TEXT_LINK = re.compile(r"<(https?://[^<>\s]+)>")
BODY_START = re.compile(r"<body\b[^>]*>", re.I)


@dataclass
class Link:
    position: int
    url: str
    label: str = ""
    is_canary: bool = False


IMAGE_ALT = re.compile(r'<img\b[^>]*?\balt="([^"]*)"', re.I)


def link_label(inner_html: str) -> str:
    """What a reader sees of a link: its text, or for an image its alt text, as "Image: …"."""
    text = " ".join(html.unescape(strip_tags(inner_html)).split())
    if text:
        return text
    alt = IMAGE_ALT.search(inner_html)
    described = " ".join(html.unescape(alt.group(1)).split()) if alt else ""
    return f"Image: {described}" if described else "Image" if "<img" in inner_html else ""


def with_utm(url: str, newsletter_slug: str, issue_slug: str) -> str:
    """``url`` with utm_source/medium/campaign added, unless the editor set any utm_ already."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.startswith("utm_") for name, _ in query):
        return url
    query += [("utm_source", newsletter_slug), ("utm_medium", "email")]
    query += [("utm_campaign", issue_slug)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class Rewriter:
    """Collects the email's links in order of appearance and writes their tracked URLs."""

    def __init__(self, issue: Issue, markers: Markers, web_url: str, key: bytes, track: bool):
        self.issue, self.markers, self.web_url, self.key, self.track = (
            issue,
            markers,
            web_url,
            key,
            track,
        )
        self.placements: dict[str, list[Link]] = {}  # URL → its placements, in order

    @property
    def links(self) -> list[Link]:
        return sorted(
            (link for links in self.placements.values() for link in links),
            key=lambda link: link.position,
        )

    def keep(self, link: Link) -> None:
        """A placement written before (a welcome email's earlier version): it keeps its
        position, so links already in inboxes still name it."""
        self.placements.setdefault(link.url, []).append(link)

    def tracked(self, url: str) -> bool:
        if urlsplit(url).scheme.lower() not in ("http", "https") or url == self.web_url:
            return False
        return not any(marker in url for marker in self.markers.per_recipient)

    def placement(self, url: str, nth: int, label: str = "") -> Link:
        """The ``nth`` placement of ``url`` (from 0), added at the next position if new."""
        placed = self.placements.setdefault(url, [])
        if nth < len(placed):
            link = placed[nth]
            link.label = link.label or label[:200]
            return link
        position = max((link.position for link in self.links), default=0) + 1
        placed.append(Link(position, url, label[:200]))
        return placed[-1]

    def text_placement(self, url: str, nth: int) -> Link:
        """The HTML's ``nth`` placement of ``url`` for the text part's ``nth`` link to it:
        the first when the text has more, a new one when only the text has it."""
        placed = self.placements.get(url)
        if placed:
            return placed[min(nth, len(placed) - 1)]
        return self.placement(url, 0)

    def click_url(self, position: int) -> str:
        token = link_token(self.key, self.issue.pk, position)
        return f"{settings.SITE_URL}{CLICK_PREFIX}{token}/{self.markers.reader}"

    def html(self, email_html: str) -> str:
        seen: Counter[str] = Counter()

        def anchor(match: re.Match) -> str:
            url = html.unescape(match.group(2)).strip()
            if not self.tracked(url):
                return match.group(0)
            link = self.placement(url, seen[url], link_label(match.group(4)))
            seen[url] += 1
            if not self.track:
                return match.group(0)
            tracked = html.escape(self.click_url(link.position))
            return match.group(1) + tracked + "".join(match.group(3, 4, 5))

        return ANCHOR.sub(anchor, email_html)

    def text(self, text: str) -> str:
        seen: Counter[str] = Counter()

        def bracketed(match: re.Match) -> str:
            url = match.group(1)
            if not self.tracked(url):
                return match.group(0)
            link = self.text_placement(url, seen[url])
            seen[url] += 1
            return f"<{self.click_url(link.position)}>" if self.track else match.group(0)

        return TEXT_LINK.sub(bracketed, text)

    def canary(self, email_html: str) -> str:
        """The hidden link, first thing in the body: no text, no size, not focusable."""
        hidden = (
            f'<a href="{html.escape(self.click_url(CANARY_POSITION))}" aria-hidden="true" '
            'tabindex="-1" style="display:none;font-size:0;line-height:0;max-height:0;'
            'overflow:hidden;mso-hide:all"></a>'
        )
        return BODY_START.sub(lambda m: m.group(0) + hidden, email_html, count=1)

    def pixel(self, email_html: str) -> str:
        src = f"{settings.SITE_URL}{OPEN_PREFIX}{base36(self.issue.pk)}/{self.markers.reader}.gif"
        image = (
            f'<img src="{html.escape(src)}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px;overflow:hidden">'
        )
        if "</body>" in email_html:
            return email_html.replace("</body>", image + "</body>", 1)
        return email_html + image


def prepare_for_sending(issue: Issue, rendered) -> list[Link]:
    """Rewrite ``rendered`` (a ``RenderedIssue``) in place for sending; return its links.

    Runs inside the transaction that freezes the snapshot, and writes the link table in it.
    With the newsletter's click tracking off the links stay as they are (the table is still
    written: reports list the links, ESP clicks are matched to them).
    """
    newsletter = issue.newsletter
    markers = Markers(rendered.marker_key)
    # A welcome email has no page of its own; its canary points at the site.
    published = issue.is_published_kind
    web_url = settings.SITE_URL + (issue.get_absolute_url() if published else "/")
    rewriter = Rewriter(issue, markers, web_url, key_of(issue_keys(issue)), newsletter.track_clicks)
    if not published:
        # A welcome email is frozen again after each edit while earlier readers hold its
        # links: a URL keeps its place in the table, a new one is added after the others.
        for row in TrackedLink.objects.filter(issue=issue, is_canary=False).order_by("position"):
            rewriter.keep(Link(row.position, row.url, row.label))
    email_html = rewriter.html(rendered.email_html)
    rendered.text = rewriter.text(rendered.text)
    links = rewriter.links
    if newsletter.track_clicks:
        email_html = rewriter.canary(email_html)
        links.insert(0, Link(CANARY_POSITION, web_url, "(hidden canary)", is_canary=True))
    if newsletter.track_opens:
        email_html = rewriter.pixel(email_html)
    rendered.email_html = email_html
    write_link_table(issue, links, replace=published)
    return links


def write_link_table(issue: Issue, links: list[Link], *, replace: bool = True) -> None:
    """Replace the issue's link table: only ever before its first send (the snapshot is
    frozen for good once a dispatch uses it, and so is this table). A welcome email's
    table is only added to (``replace`` off): the links already sent keep working."""
    newsletter = issue.newsletter
    with transaction.atomic():
        table = TrackedLink.objects.filter(issue=issue)
        if replace:
            table.delete()
        else:
            taken = set(table.values_list("position", flat=True))
            links = [link for link in links if link.position not in taken]
        TrackedLink.objects.bulk_create(
            TrackedLink(
                issue=issue,
                position=link.position,
                url=link.url,
                target=(
                    with_utm(link.url, newsletter.slug, issue.slug)
                    if newsletter.utm_parameters and not link.is_canary
                    else link.url
                ),
                label=link.label,
                is_canary=link.is_canary,
            )
            for link in links
        )


TRACKED_HREF = re.compile(re.escape(CLICK_PREFIX) + r"[0-9a-z]+\.([0-9a-z]+)\.")


def positions_in_html(email_html: str) -> set[int]:
    """The link-table positions the email's HTML part links to (the rest are in its plain
    text only: a quiz's answers, which the HTML email leaves to the web page)."""
    return {int(position, 36) for position in TRACKED_HREF.findall(email_html)}
