"""The recorder: clicks and opens buffered fast and durably, then stored in bulk.

The redirect must answer in a millisecond, so it only appends the event to a Redis stream
(``XADD``: one round trip, no database). The worker's flush reads the stream through a
consumer group, writes the rows in one transaction, and acknowledges the entries only after
the commit:

- the web server dies after ``XADD``: the event is in Redis; nothing lost;
- the worker dies mid-flush (before commit): the entries stay pending in the group and the
  next flush, which reads the pending entries first, stores them;
- the worker dies after commit, before the acknowledgement (``XACK`` and ``XDEL`` in one
  ``MULTI``/``EXEC``, so never one without the other): the next flush reads them again,
  and the unique ``event_id`` (the stream entry id) makes the second insert add nothing.

Redis must persist its data (AOF) for the buffer to outlive a Redis restart. Without
``REDIS_URL`` (the embedded default), or when Redis cannot be reached, the event is
written straight to the database instead: slower, never lost.
"""

import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from ..models import LATE_READER, Click, Delivery, Open, TrackedLink
from .machines import burst_window, mark_bursts, mark_canary_bursts
from .pseudonyms import Pseudonyms

log = logging.getLogger(__name__)

STREAM = "superfast:engagement:events"
GROUP = "flush"
# One consumer name for every flusher: a flush that died leaves its entries pending under
# this name, and whichever flush comes next reads them first.
CONSUMER = "flusher"

_clients: dict[str, object] = {}


def redis_client():
    """This process's connection pool to ``REDIS_URL`` (None without one)."""
    url = settings.REDIS_URL
    if not url:
        return None
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]


def record(kind: str, issue_id: int, delivery_id: int, position: int, machine: str) -> None:
    """Buffer one click (``kind`` "c") or open ("o") of a tracked reader."""
    event = {"k": kind, "i": issue_id, "d": delivery_id, "p": position, "m": machine}
    event["t"] = f"{time.time():.3f}"
    client = redis_client()
    if client is not None:
        try:
            client.xadd(STREAM, event)
            return
        except Exception:  # Redis away: the database is slower, but the click is kept
            log.exception("Click buffer unavailable; storing the event directly")
    store([(f"direct:{uuid.uuid4().hex}", {k: str(v) for k, v in event.items()})])


def ensure_group(client) -> None:
    import redis

    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def flush(budget_seconds: float = 20.0) -> int:
    """Store what the buffer holds, oldest first; the number of entries handled."""
    client = redis_client()
    if client is None:
        return 0
    ensure_group(client)
    handled, deadline = 0, time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        # Entries an earlier flush read and never acknowledged (it died) come first.
        entries, caught_up = read(client, "0"), False
        if not entries:
            entries = read(client, ">")
            # Less than a batch: the flush has caught up. What arrives while it stores waits
            # for the next flush, a few seconds on: chased, it was stored a few entries at a
            # time, each store at a whole batch's cost, for the flush's whole budget.
            caught_up = len(entries) < settings.ENGAGEMENT_FLUSH_BATCH
        if not entries:
            break
        store([(entry_id, fields) for entry_id, fields in entries])
        ids = [entry_id for entry_id, _ in entries]
        # Both or neither (MULTI/EXEC): a batch acknowledged but not deleted would stay in
        # the stream for ever, read by no later flush. Not acknowledged, it is read again
        # and stored again, which adds nothing.
        with client.pipeline(transaction=True) as done:
            done.xack(STREAM, GROUP, *ids)
            done.xdel(STREAM, *ids)
            done.execute()
        handled += len(ids)
        if caught_up:
            break
    return handled


def read(client, start: str) -> list[tuple[str, dict]]:
    answer = client.xreadgroup(
        GROUP, CONSUMER, {STREAM: start}, count=settings.ENGAGEMENT_FLUSH_BATCH
    )
    if not answer:
        return []
    return [
        (entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
        for entry_id, fields in answer[0][1]
        if fields  # an entry deleted while pending comes back empty
    ]


def well_formed(entry_id: str, fields: dict) -> bool:
    """Whether an entry is one ``record`` wrote; anything else is logged and skipped, so
    one odd entry cannot hold up every flush after it."""
    try:
        int(fields["d"]), int(fields["i"]), int(fields["p"]), float(fields["t"])
        return fields["k"] in ("c", "o") and "m" in fields
    except (KeyError, ValueError):
        log.warning("Skipping a malformed click buffer entry %s: %r", entry_id, fields)
        return False


def store(entries: list[tuple[str, dict]]) -> int:
    """Write buffered events as rows, in one transaction; repeating it adds nothing.

    Events of readers who asked for no tracking since the mail left are dropped here; the
    subscriber is linked only where the newsletter keeps per-subscriber history. The reader
    is named by their pseudonym for the issue (``pseudonyms``).
    """
    events = [
        (entry_id if entry_id.startswith("direct:") else f"s:{entry_id}", fields)
        for entry_id, fields in entries
        if well_formed(entry_id, fields)
    ]
    delivery_ids = {int(fields["d"]) for _, fields in events}
    deliveries = {
        row["pk"]: row
        for row in Delivery.objects.filter(pk__in=delivery_ids).values(
            "pk",
            "issue_id",
            "subscriber_id",
            "variant",
            "finished_at",
            "subscriber__no_tracking",
            "issue__newsletter__subscriber_history",
        )
    }
    issue_ids = {row["issue_id"] for row in deliveries.values()}
    pseudonyms = Pseudonyms(issue_ids)
    links = {
        (issue_id, position): pk
        for pk, issue_id, position in TrackedLink.objects.filter(
            issue_id__in=issue_ids
        ).values_list("pk", "issue_id", "position")
    }
    clicks, opens = [], []
    soon_after_delivery: dict[int, dict] = defaultdict(dict)
    clicked: dict[int, set[str]] = defaultdict(set)  # readers with a click in this batch
    for event_id, fields in events:
        delivery = deliveries.get(int(fields["d"]))
        issue_id = int(fields["i"])
        if (
            delivery is None
            or delivery["issue_id"] != issue_id
            or delivery["subscriber__no_tracking"]
            or not pseudonyms.tracks(issue_id)
        ):
            continue
        at = datetime.fromtimestamp(float(fields["t"]), tz=UTC)
        sent_at = delivery["finished_at"] or at
        common = {
            "issue_id": issue_id,
            "reader": pseudonyms.of(issue_id, delivery["subscriber_id"], sent_at),
            "variant": delivery["variant"],
            "subscriber_id": (
                delivery["subscriber_id"]
                if delivery["issue__newsletter__subscriber_history"]
                else None
            ),
            "at": at,
            "is_machine": bool(fields["m"]),
            "event_id": event_id,
        }
        if fields["k"] == "o":
            opens.append(Open(source=Open.Source.PIXEL, **common))
            continue
        link_id = links.get((issue_id, int(fields["p"])))
        if link_id is None:
            continue
        clicks.append(Click(link_id=link_id, machine_reason=fields["m"], **common))
        if common["reader"] != LATE_READER:
            clicked[issue_id].add(common["reader"])
        if at <= sent_at + burst_window() and common["reader"] != LATE_READER:
            soon_after_delivery[issue_id][common["reader"]] = sent_at
    with transaction.atomic():
        Click.objects.bulk_create(clicks, ignore_conflicts=True)
        Open.objects.bulk_create(opens, ignore_conflicts=True)
        for issue_id, readers in soon_after_delivery.items():
            mark_bursts(issue_id, readers)
        # A canary hit and the clicks of its burst may come in different batches.
        for issue_id, clickers in clicked.items():
            mark_canary_bursts(issue_id, clickers)
    return len(clicks) + len(opens)
