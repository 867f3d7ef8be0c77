"""The click map: an issue's own web rendering with each link's share of readers drawn on it.

Drawn on the server: each link of the frozen web HTML gets a badge right after it and a
heat class, so the page needs no script at all (the admin shows it in a sandboxed frame
that could run none anyway). Links are matched to the link table by URL, in order: the
second time a URL appears on the page is the second tracked link with that URL. A link the
email did not have (a quiz's answers live on the web page only) is marked as such.
"""

import html
import re
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .charts import percent
from .engagement import LinkFigures

ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.DOTALL | re.IGNORECASE)
HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


@dataclass(frozen=True)
class Heat:
    """One heat level's colours: the wrapped link's background and ink, the badge's."""

    background: str
    link_ink: str
    badge_background: str
    badge_ink: str


# Level 0 is a link nobody clicked; each pair of ink and background reaches WCAG AA (4.5:1,
# ``superfast.contrast``), which the tests check. The map forces the light scheme, so these
# are the only colours its links and badges ever have.
HEAT = (
    Heat("#ffffff", "#0842a0", "#e5e7eb", "#1f2937"),
    Heat("#fef3c7", "#0842a0", "#fcd34d", "#422006"),
    Heat("#fde68a", "#0842a0", "#fbbf24", "#422006"),
    Heat("#fdba74", "#0842a0", "#c2410c", "#ffffff"),
    Heat("#fca5a5", "#0842a0", "#b91c1c", "#ffffff"),
)
HEAT_LEVELS = len(HEAT)
WEB_ONLY = "On the web page only: not in the email"


@dataclass(frozen=True)
class ClickMap:
    html: SafeString  # the web HTML with badges
    shown: frozenset[int]  # ids of the links found on the page
    total_clicks: int
    readers: int  # who clicked any link: what each link's share is of


def share(clicks: int, total: int) -> float:
    return clicks / total if total else 0.0


def heat(readers: int, most: int) -> int:
    """0 (no reader) to HEAT_LEVELS - 1 (the link most readers of the issue clicked)."""
    if not readers or not most:
        return 0
    return max(1, round((HEAT_LEVELS - 1) * readers / most))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def click_map(
    web_html: str,
    links: Sequence[LinkFigures],
    readers: int | None = None,
    in_email_html: set[int] | None = None,
) -> ClickMap:
    """``web_html`` with every tracked link wrapped and badged with its share of the
    ``readers`` who clicked (by default the sum over links), its readers and its clicks.

    A link of the page the email's HTML did not have (``in_email_html``: the positions it
    did; None when unknown) is marked as the web page's own, with what the plain-text
    version's copy of it drew, if any."""
    by_url: dict[str, deque[LinkFigures]] = defaultdict(deque)
    for link in sorted(links, key=lambda link: link.position):
        by_url[link.url].append(link)
    total = sum(link.clicks for link in links)
    readers = sum(link.unique for link in links) if readers is None else readers
    most = max((link.unique for link in links), default=0)
    shown = set()

    def badge(match: re.Match[str]) -> str:
        href = HREF.search(match.group(1))
        url = html.unescape(next(g for g in href.groups() if g is not None)) if href else ""
        waiting = by_url.get(url)
        if not waiting:
            if in_email_html is not None and urlsplit(url).scheme.lower() in ("http", "https"):
                return format_html(  # a quiz's answers, say: readers of the email never saw it
                    '{}<span class="clickmap-badge clickmap-web-only">{}</span>',
                    mark_safe(match.group(0)),
                    WEB_ONLY,
                )
            return match.group(0)
        link = waiting.popleft()
        shown.add(link.link_id)
        if in_email_html is not None and link.position not in in_email_html:
            return format_html(
                '{}<span class="clickmap-badge clickmap-web-only">{} ({}, {} from the '
                "plain-text version)</span>",
                mark_safe(match.group(0)),
                WEB_ONLY,
                plural(link.unique, "reader"),
                plural(link.clicks, "click"),
            )
        return format_html(
            '<span class="clickmap-link clickmap-heat-{}">{}'
            '<span class="clickmap-badge">{} · {} · {}</span></span>',
            heat(link.unique, most),
            mark_safe(match.group(0)),  # the renderer's own (sanitized) markup, unchanged
            percent(share(link.unique, readers)),
            plural(link.unique, "reader"),
            plural(link.clicks, "click"),
        )

    annotated = ANCHOR.sub(badge, web_html)
    return ClickMap(mark_safe(annotated), frozenset(shown), total, readers)
