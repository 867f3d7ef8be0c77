"""The click redirect (the hot path) and the open pixel.

A click costs two HMACs, a dictionary lookup and one ``XADD``: the issue's link table is
read from the database once per process and kept (the links of a sent issue never change),
and read again only when a link that verified names a position the kept table lacks: a
welcome email frozen again after an edit gained a link (only ever added, never changed;
``links.write_link_table``). Forged links never verify, so they cannot make a process read
the table. The click is buffered for the worker to store (``recorder``). The target comes only
from the link table; a token that does not verify, or names no link, answers 404 with no
``Location``: nothing in a URL can send a reader anywhere.
"""

import base64
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.http import HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.views.decorators.http import require_safe

from ..models import IssueSalt, TrackedLink
from . import recorder, tokens
from .machines import request_reason

CACHED_ISSUES = 1024
UNKNOWN_ISSUE_SECONDS = 60  # an issue not found is asked for again after this long
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@dataclass(frozen=True)
class IssueLinks:
    key: bytes
    targets: dict[int, tuple[str, bool]]  # position → (target, is canary)


class LinkTables:
    """Every issue's link table this process has needed, least recently used dropped first."""

    def __init__(self):
        self.tables: OrderedDict[int, IssueLinks | float] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, issue_id: int) -> IssueLinks | None:
        found = self.tables.get(issue_id)
        if isinstance(found, IssueLinks):
            return found
        if found is not None and time.monotonic() < found:
            return None
        return self.store(issue_id, self.load(issue_id))

    def reload(self, issue_id: int) -> IssueLinks | None:
        """The table read again: a signed position it lacked was added since (a welcome
        email frozen again after an edit)."""
        return self.store(issue_id, self.load(issue_id))

    def store(self, issue_id: int, table: IssueLinks | None) -> IssueLinks | None:
        with self.lock:
            self.tables[issue_id] = table or time.monotonic() + UNKNOWN_ISSUE_SECONDS
            self.tables.move_to_end(issue_id)
            while len(self.tables) > CACHED_ISSUES:
                self.tables.popitem(last=False)
        return table

    @staticmethod
    def load(issue_id: int) -> IssueLinks | None:
        keys = IssueSalt.objects.filter(issue_id=issue_id).only("link_key").first()
        if keys is None:
            return None
        rows = TrackedLink.objects.filter(issue_id=issue_id).values_list(
            "position", "target", "is_canary"
        )
        return IssueLinks(tokens.key_of(keys), {p: (t, c) for p, t, c in rows})

    def clear(self) -> None:
        with self.lock:
            self.tables.clear()


link_tables = LinkTables()


def not_found() -> HttpResponse:
    return HttpResponseNotFound(b"Not found.", content_type="text/plain")


def private(response: HttpResponse) -> HttpResponse:
    """Every answer counts: no cache may replay it, no search engine keep it."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def click(request, link: str, reader: str):
    """302 to the link's stored target, buffering the click; 404 for anything forged."""
    unpacked = tokens.unpack_link(link)
    if unpacked is None:
        return not_found()
    issue_id, position, body, signature = unpacked
    table = link_tables.get(issue_id)
    if table is None or not tokens.verify_link(table.key, body, signature):
        return not_found()
    delivery_id = tokens.verify_reader(table.key, reader)
    if delivery_id is None:
        return not_found()
    found = table.targets.get(position)
    if found is None:
        table = link_tables.reload(issue_id)
        found = table.targets.get(position) if table else None
    if found is None:
        return not_found()
    target, is_canary = found
    if delivery_id != tokens.NO_TRACKING:
        machine = request_reason(request.method, request.META.get("HTTP_USER_AGENT", ""), is_canary)
        recorder.record("c", issue_id, delivery_id, position, machine)
    return private(HttpResponseRedirect(target))


@require_safe
def pixel(request, issue: str, reader: str):
    """The open pixel: a 1×1 GIF, the open buffered like a click."""
    issue_id = tokens.number(issue)
    table = link_tables.get(issue_id) if issue_id is not None else None
    delivery_id = tokens.verify_reader(table.key, reader) if table else None
    if delivery_id is None:
        return not_found()
    if delivery_id != tokens.NO_TRACKING:
        machine = request_reason(request.method, request.META.get("HTTP_USER_AGENT", ""), False)
        recorder.record("o", issue_id, delivery_id, 0, machine)
    return private(HttpResponse(PIXEL, content_type="image/gif"))
