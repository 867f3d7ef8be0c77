"""The ledger's writes: claim under a lease, renew it while sending, mark outcomes, return
expired claims.

A claim is a token and a lease on each row. A live sender renews its lease every third of
``SEND_LEASE_SECONDS`` (the heartbeat), so the lease can be short: a claim not renewed for a
lease belonged to a dead worker, and the sweeper gives its rows back. Outcomes are written only
to rows still carrying the token. A sender that loses the database holds its outcomes and keeps
trying to write them (``SEND_OUTCOME_RETRY_SECONDS``): a database restart costs seconds, not a
batch sent twice.
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    F,
    Field,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from subscribers.models import Subscriber

from ..models import Delivery, Dispatch
from .outcomes import Outcome, Recipient

log = logging.getLogger(__name__)

Status = Delivery.Status
DATABASE_GONE = (OperationalError, InterfaceError)
T = TypeVar("T")


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.SEND_LEASE_SECONDS)


def claim_batch(dispatch_id: int, size: int) -> tuple[str, list[Recipient]]:
    """Take up to ``size`` due pending rows for this worker, atomically, under a lease: the
    claim's token and each row's reader.

    PostgreSQL: rows are locked with SKIP LOCKED, so concurrent workers take disjoint
    batches without waiting, in one statement (``CLAIM_SQL``). SQLite has no row locks:
    the UPDATE re-checks ``status='pending'`` and only the rows it changed (carrying our
    token) are ours.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    if connection.vendor == "postgresql":
        return token, claim_in_one_statement(dispatch_id, size, token, now)
    due = Delivery.objects.filter(
        dispatch_id=dispatch_id, status=Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at")  # the index's order: no sort of every pending row
    ids = list(due.values_list("id", flat=True)[:size])
    if not ids:
        return token, []
    Delivery.objects.filter(id__in=ids, status=Status.PENDING).update(
        status=Status.SENDING,
        claim_token=token,
        lease_expires_at=lease_expiry(now),
        attempts=F("attempts") + 1,
    )
    # Read back by primary key (the token says which rows were ours): the token alone has
    # no index, and a million-row ledger would be scanned per batch. Plain values: a model
    # instance per row and per reader cost the sender more than signing each reader's links.
    rows = Delivery.objects.filter(id__in=ids, claim_token=token).order_by("id")
    return token, [Recipient(*row) for row in rows.values_list(*RECIPIENT_FIELDS)]


RECIPIENT_FIELDS = (
    "id",
    "subscriber_id",
    "subscriber__email",
    "subscriber__name",
    "attempts",
    "subscriber__no_tracking",
    "variant",
)

# The due rows locked (SKIP LOCKED: another worker's are passed over, not waited for) in the
# index's order, claimed, and returned with their readers, in one statement. The locked ids
# are taken as an array (``= ANY(ARRAY(…))``, computed once), so the claim finds its rows by
# primary key whatever the planner thinks of the subquery: as ``IN (…)`` it chose to scan
# the ledger. As three ORM queries (lock, claim, read back) the ORM's own work per batch
# cost the sender more than signing a hundred readers' links, and the read back found each
# row again.
CLAIM_SQL = """
    WITH claimed AS (
        UPDATE {delivery} SET status = %(sending)s, claim_token = %(token)s,
            lease_expires_at = %(lease)s, attempts = attempts + 1
        WHERE id = ANY(ARRAY(
            SELECT id FROM {delivery}
            WHERE dispatch_id = %(dispatch)s AND status = %(pending)s
                AND next_attempt_at <= %(now)s
            ORDER BY next_attempt_at
            LIMIT %(size)s
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING id, subscriber_id, attempts, variant
    )
    SELECT claimed.id, claimed.subscriber_id, reader.email, reader.name, claimed.attempts,
        reader.no_tracking, claimed.variant
    FROM claimed JOIN {subscriber} AS reader ON reader.id = claimed.subscriber_id
    ORDER BY claimed.id
"""


def claim_in_one_statement(
    dispatch_id: int, size: int, token: str, now: datetime
) -> list[Recipient]:
    sql = CLAIM_SQL.format(
        delivery=connection.ops.quote_name(Delivery._meta.db_table),
        subscriber=connection.ops.quote_name(Subscriber._meta.db_table),
    )
    parameters: dict[str, str | int | datetime] = {
        "sending": Status.SENDING.value,
        "token": token,
        "lease": lease_expiry(now),
        "dispatch": dispatch_id,
        "pending": Status.PENDING.value,
        "now": now,
        "size": size,
    }
    with connection.cursor() as cursor:  # one statement: atomic on its own
        cursor.execute(sql, parameters)
        return [Recipient(*row) for row in cursor.fetchall()]


class Heartbeat:
    """Renews a batch's lease (and its dispatch's heartbeat) every third of the lease.

    ``beat()`` is called before each message; it costs a clock read unless a renewal is due.
    A renewal that fails (the database is away) is not fatal: the sender goes on and holds
    its outcomes; the lease it already has covers the outage until ``mark`` gets through.
    """

    def __init__(self, token: str, dispatch_id: int):
        self.token, self.dispatch_id = token, dispatch_id
        self.every = settings.SEND_LEASE_SECONDS / 3
        self.next_at = time.monotonic() + self.every

    def beat(self) -> None:
        if time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + self.every
        try:
            renew_lease(self.token, self.dispatch_id)
        except DATABASE_GONE as error:
            log.warning("lease renewal failed (%s); sending on", error)
            forget_connection()


def renew_lease(token: str, dispatch_id: int) -> int:
    now = timezone.now()
    renewed = Delivery.objects.filter(claim_token=token, status=Status.SENDING).update(
        lease_expires_at=lease_expiry(now)
    )
    Dispatch.objects.filter(pk=dispatch_id).update(heartbeat_at=now)
    return renewed


def among(ids: list[int]) -> "Q | RawSQL":
    """A filter on rows whose id is one of ``ids``. On PostgreSQL one array parameter
    (``= ANY``): with a placeholder per id, psycopg spent longer cutting a batch's queries
    at their 500 placeholders than PostgreSQL spent running them."""
    if connection.vendor != "postgresql":
        return Q(id__in=ids)
    quote = connection.ops.quote_name
    column = f"{quote(Delivery._meta.db_table)}.{quote('id')}"
    return RawSQL(f"{column} = ANY(%s::bigint[])", (id_array(ids),), output_field=BooleanField())


def id_array(ids: list[int]) -> str:
    """PostgreSQL's text form of an array of ids, one short string to send."""
    return "{" + ",".join(map(str, ids)) + "}"


def per_row(outcomes: list[Outcome], attr: str, output_field: "Field[Any, Any]") -> Value | RawSQL:
    """One SQL expression giving each row its own value (a single Value when all agree).

    Written as SQL with parameters: the ORM's ``Case`` resolves every ``When`` as a filter,
    about a third of a millisecond a row, which for a batch of 500 ESP ids, or of 500 retries
    each due at its own moment, cost more than sending it. On PostgreSQL two array
    parameters (the value at the row's place among the ids), elsewhere ``CASE id WHEN …
    THEN …``; each value prepared by the field, as the ORM would (datetimes included)."""
    raw = [getattr(o, attr) for o in outcomes]
    if len(set(raw)) == 1:
        return Value(raw[0], output_field=output_field)
    if isinstance(output_field, CharField) and all(type(value) is str for value in raw):
        prepared = raw  # what the field would prepare from strings: themselves, at a cost
    else:
        prepared = [output_field.get_db_prep_value(value, connection) for value in raw]
    ids = [o.delivery_id for o in outcomes]
    column = connection.ops.quote_name("id")
    if connection.vendor == "postgresql":
        kind = "text" if isinstance(output_field, CharField) else output_field.db_type(connection)
        sql = f"(%s::{kind}[])[array_position(%s::bigint[], {column})]"
        return RawSQL(sql, (prepared, id_array(ids)), output_field=output_field)
    branches = " ".join(["WHEN %s THEN %s"] * len(outcomes))
    params = [part for pair in zip(ids, prepared, strict=True) for part in pair]
    sql = f"CASE {column} {branches} END"
    return RawSQL(sql, params, output_field=output_field)


def mark(
    token: str,
    outcomes: list[Outcome],
    unsent_ids: list[int],
    unsent_due: datetime | None = None,
    message_id_suffix: str = "",
) -> None:
    """Write a batch's outcomes in one UPDATE per status; rows never tried go back as they
    were. Only rows still carrying our claim token are touched: if the sweeper gave a row to
    another worker meanwhile, that worker's outcome is the one that counts.

    Sent and failed rows are finished (``finished_at``); a transient outcome goes back to
    ``pending`` due at its backed-off ``retry_at`` and is not finished.
    """
    now = timezone.now()
    mine = Delivery.objects.filter(claim_token=token)
    release = {"claim_token": "", "lease_expires_at": None}
    by_status: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    with transaction.atomic():
        for status, group in by_status.items():
            fields: dict[str, object] = {"status": status, **release}
            fields["last_error"] = per_row(group, "error", CharField())
            if status == Status.PENDING:
                fields["next_attempt_at"] = per_row(group, "retry_at", DateTimeField())
            else:
                fields["finished_at"] = now
            if status == Status.SENT:
                fields.update(sent_message_ids(mine, group, message_id_suffix))
            mine.filter(among([o.delivery_id for o in group])).update(**fields)
        if unsent_ids:
            mine.filter(among(unsent_ids)).update(
                status=Status.PENDING,
                attempts=F("attempts") - 1,
                next_attempt_at=unsent_due or now,
                **release,
            )


def sent_message_ids(mine: QuerySet[Delivery], sent: list[Outcome], suffix: str) -> dict[str, Any]:
    """Our own Message-IDs are the row id plus a suffix: built in SQL, which keeps this one
    short expression instead of a value per row. ESPs' own ids are stored as given.

    When the batch's ids are all ours or all the ESP's (every batch but a rare mixed one),
    returns the one expression for the status UPDATE to set; else writes them here."""
    own = [o.delivery_id for o in sent if not o.message_id]
    ours = Concat(Cast("id", CharField()), Value(suffix))
    esp = [o for o in sent if o.message_id]
    if not esp:
        return {"message_id": ours}
    if not own:
        return {"message_id": per_row(esp, "message_id", CharField())}
    mine.filter(among(own)).update(message_id=ours)
    mine.filter(among([o.delivery_id for o in esp])).update(
        message_id=per_row(esp, "message_id", CharField())
    )
    return {}


def sweep_expired_claims(now: datetime | None = None, *, dispatch_id: int | None = None) -> int:
    """Give rows whose worker died (lease not renewed in time) back to ``pending``.

    They are made due a second before the time they were claimed at: claims take rows in
    due order, so these go first, as they have waited longest. The attempt the dead worker
    counted stays counted. The sweeper does this for every dispatch; each sender does it for
    its own before each claim, so recovery does not wait for the sweeper to find a free
    worker slot among busy senders.
    """
    now = now or timezone.now()
    expired = Delivery.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    if dispatch_id is not None:
        expired = expired.filter(dispatch_id=dispatch_id)
    return expired.update(
        status=Status.PENDING,
        claim_token="",
        lease_expires_at=None,
        next_attempt_at=F("next_attempt_at") - timedelta(seconds=1),
        last_error="Claim lease expired (the worker stopped mid-batch); queued again.",
    )


def forget_connection() -> None:
    """Drop a connection the database closed, so the next query opens a new one."""
    with contextlib.suppress(Exception):
        connection.close()


def persistently(write: Callable[[], T], *, what: str) -> T:
    """``write()``, retried while the database is away, for ``SEND_OUTCOME_RETRY_SECONDS``.

    Used where giving up costs duplicates (the outcomes of messages already sent) or a lost
    sender: PostgreSQL restarting takes seconds, and a retry every half second gets through
    as soon as it answers.
    """
    deadline = time.monotonic() + settings.SEND_OUTCOME_RETRY_SECONDS
    while True:
        try:
            return write()
        except DATABASE_GONE as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("%s: the database is away (%s); trying again", what, error)
            forget_connection()
            time.sleep(0.5)
