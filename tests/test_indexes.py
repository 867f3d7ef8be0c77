"""The big tables carry only indexes that earn their keep.

Every index is written on every insert: planning a million deliveries or importing a million
subscribers pays for each one, row by row. An index whose columns lead another index on the
same table answers nothing the other cannot (Django's own index on a foreign key is the usual
case, next to a composite index that starts with it), and rows that no lookup ever asks for
(a ledger row's empty message id until it is sent) stay out of a partial index.
"""

import re

import pytest
from django.db import connection

from issues.models import Delivery
from tests.support.delivery import planned_dispatch
from tests.support.statistics import analyze

pytestmark = pytest.mark.django_db

BIG_TABLES = [
    "issues_delivery",
    "subscribers_subscriber",
    "subscribers_subscription",
    "subscribers_consentevent",
    "subscribers_importrow",
    "subscribers_importrejection",
]


def plain_indexes(table: str) -> dict[str, tuple[bool, list[str]]]:
    """``{name: (partial or unique, columns)}`` of the table's indexes on plain columns (an
    expression index, on LOWER or UPPER, has nothing that could stand in for it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass",
            [table],
        )
        rows = cursor.fetchall()
    indexes = {}
    for name, definition, is_unique in rows:
        head, _, predicate = definition.partition(" WHERE ")
        columns = re.search(r"USING \w+ \((.*)\)", head).group(1)
        if "(" not in columns:
            names = [c.strip().split()[0] for c in columns.split(",")]
            indexes[name] = (bool(predicate) or is_unique, names)
    return indexes


@pytest.mark.postgresql
def test_no_index_on_a_big_table_is_the_leading_part_of_another():
    redundant = []
    for table in BIG_TABLES:
        indexes = plain_indexes(table)
        for name, (special, columns) in indexes.items():
            led_by = [
                other
                for other, (other_special, longer) in indexes.items()
                if other != name and not other_special and longer[: len(columns)] == columns
            ]
            if led_by and not special:
                redundant.append(f"{table}.{name} (led by {', '.join(led_by)})")
    assert redundant == []


@pytest.mark.postgresql
def test_the_database_compiles_no_statement_just_in_time():
    """PostgreSQL's JIT compiled the import's and the planner's set-based statements, a
    fifth of a second each, for statements that then ran in milliseconds."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


@pytest.mark.postgresql
def test_planned_rows_stay_out_of_the_message_id_index_and_webhooks_still_find_theirs():
    """Planning writes a row per recipient with no message id yet; the ESP's webhook later
    looks the sent row up by its id, which the partial index answers."""
    dispatch = planned_dispatch(2_000)
    row = dispatch.deliveries.order_by("id").first()
    Delivery.objects.filter(pk=row.pk).update(message_id="<1.abc@example.org>")
    analyze("issues_delivery")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'issues_delivery' AND indexdef LIKE '%%(message_id%%'"
        )
        indexes = dict(cursor.fetchall())
    assert list(indexes) == ["delivery_message_id"]
    assert "WHERE (NOT ((message_id)::text = ''::text))" in indexes["delivery_message_id"]
    lookup = Delivery.objects.filter(message_id="<1.abc@example.org>")
    assert "delivery_message_id" in lookup.explain()
    assert lookup.get().pk == row.pk


def test_a_ledger_row_still_needs_a_real_dispatch_and_subscriber_and_keeps_its_issue():
    """The issue's own check is gone from the ledger (a third of planning's time); what
    made it redundant must hold: a row needs its dispatch and subscriber, and an issue
    with a dispatch cannot be deleted from under its rows."""
    from django.db import IntegrityError, transaction
    from django.db.models import ProtectedError

    dispatch = planned_dispatch(3)
    row = dispatch.deliveries.first()
    # Foreign keys are checked when the test's transaction ends: check_constraints() checks
    # them now (SET CONSTRAINTS ALL IMMEDIATE on PostgreSQL, foreign_key_check on SQLite).
    for field, missing in (("dispatch_id", 10**9), ("subscriber_id", 10**9)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Delivery.objects.filter(pk=row.pk).update(**{field: missing})
            connection.check_constraints(table_names=["issues_delivery"])
    with pytest.raises(ProtectedError):
        dispatch.issue.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM issues_issue WHERE id = %s", [dispatch.issue_id])
        connection.check_constraints()  # the dispatch's own key keeps the issue
    assert Delivery.objects.filter(issue=dispatch.issue).count() == 3
