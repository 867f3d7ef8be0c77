"""The scanner rules: which clicks and opens were machines, kept apart from people's.

Security gateways (Microsoft Defender, Proofpoint, Mimecast, Barracuda...) fetch every link
of a message before, or just after, it reaches the inbox. Four rules catch them:

1. ``head``: a HEAD request. Browsers follow links with GET; link checkers ask for headers.
2. ``scanner``: a user agent in ``SCANNER_AGENTS``, or none at all: gateways and previewers
   that say what they are (the list is short on purpose: a browser's agent is never on it).
3. ``canary``: the hidden link first in the email's body, which no person sees or can reach.
   A client that fetched it was a machine at that moment: that reader's clicks from
   ``ENGAGEMENT_BURST_SECONDS`` before the hit to as long after it are the same machine's
   burst (``mark_canary_bursts``). The reader's clicks outside it stay people's: the
   gateway that scanned the message on arrival says nothing of the reader who clicked later.
4. ``burst``: a reader "clicking" every link of the issue within ``ENGAGEMENT_BURST_SECONDS``
   of the delivery. Gateways that pose as browsers give themselves away by speed and by
   completeness; a person reads first and picks a few links. Applied when clicks are stored,
   to all that reader's clicks in the window (``recorder``).

A machine click still redirects: a gateway that got a 404 might quarantine the message.
"""

import re
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from ..models import Click, MachineReason, TrackedLink

SCANNER_AGENTS = re.compile(
    r"barracuda|proofpoint|mimecast|messagelabs|symantec|trendmicro|trend micro|forcepoint"
    r"|ironport|sophos|fireeye|zscaler|bitdefender|safelinks|safe links|urldefense"
    r"|\bbot\b|bot/|bot-|crawler|spider|python-requests|python-urllib|aiohttp|httpx|curl/|wget/"
    r"|go-http-client|okhttp|java/|libwww|headlesschrome|phantomjs|scrapy",
    re.IGNORECASE,
)


def request_reason(method: str, user_agent: str, is_canary: bool) -> str:
    """The machine reason a single request shows by itself ("" for a person, so far)."""
    if is_canary:
        return MachineReason.CANARY
    if method == "HEAD":
        return MachineReason.HEAD
    if not user_agent.strip() or SCANNER_AGENTS.search(user_agent):
        return MachineReason.SCANNER
    return ""


def burst_window() -> timedelta:
    return timedelta(seconds=settings.ENGAGEMENT_BURST_SECONDS)


def mark_bursts(issue_id: int, sent_at: dict[str, datetime]) -> int:
    """Rule 4 for readers of one issue (reader hash → when their message left): a reader
    whose clicks in the window after delivery cover every link people can see (two at
    least) was a machine, and so were all those clicks. Returns how many clicks it moved.

    Two queries per issue whatever the number of readers, and one update when it finds any.
    """
    people_links = set(
        TrackedLink.objects.filter(issue_id=issue_id, is_canary=False).values_list("pk", flat=True)
    )
    if len(people_links) < 2 or not sent_at:
        return 0
    window = burst_window()
    latest = max(sent_at.values()) + window
    seen: dict[str, set] = defaultdict(set)
    clicks = Click.objects.filter(
        issue_id=issue_id,
        reader__in=list(sent_at),
        source=Click.Source.REDIRECT,
        link_id__in=people_links,
        at__lte=latest,
    ).values_list("reader", "link_id", "at")
    for reader, link_id, at in clicks:
        if at <= sent_at[reader] + window:
            seen[reader].add(link_id)
    machines = [reader for reader, links in seen.items() if links >= people_links]
    if not machines:
        return 0
    # One UPDATE for them all, each reader inside their own window: an UPDATE a reader cost a
    # flush more than storing its clicks when many readers' bursts came in one batch.
    windows = Q()
    for reader in machines:
        windows |= Q(reader=reader, at__lte=sent_at[reader] + window)
    return (
        Click.objects.filter(issue_id=issue_id, source=Click.Source.REDIRECT, is_machine=False)
        .filter(windows)
        .update(is_machine=True, machine_reason=MachineReason.BURST)
    )


def mark_canary_bursts(issue_id: int, readers: set[str]) -> int:
    """Rule 3 for these readers of one issue: each of their clicks within the burst window
    either side of one of their canary hits is a machine's. Returns how many it moved.

    One ``UPDATE`` per issue, however many readers: the canary hits are matched in a
    subquery on the (issue, reader) index.
    """
    if not readers:
        return 0
    window = burst_window()
    canary_near = Click.objects.filter(
        issue_id=issue_id,
        reader=OuterRef("reader"),
        link__is_canary=True,
        source=Click.Source.REDIRECT,
        at__gte=OuterRef("at") - window,
        at__lte=OuterRef("at") + window,
    )
    return (
        Click.objects.filter(
            issue_id=issue_id,
            reader__in=list(readers),
            source=Click.Source.REDIRECT,
            is_machine=False,
        )
        .filter(Exists(canary_near))
        .update(is_machine=True, machine_reason=MachineReason.CANARY)
    )
