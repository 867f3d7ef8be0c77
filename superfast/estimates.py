"""Counts an admin page can afford at a million rows: exact when small, estimated when not.

Counting every matching row costs as much as reading them, on every page load. PostgreSQL's
planner already knows about how many rows a query returns (from ``pg_class.reltuples`` and
the column statistics ``ANALYZE`` keeps): that estimate, read with ``EXPLAIN``, costs no
rows at all. Below ``settings.ADMIN_EXACT_COUNT_LIMIT`` expected rows the exact count is
cheap and is what editors see; above it they see the estimate, labelled "about".
Other databases (SQLite in development) always count exactly.
"""

import json
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import QuerySet


@dataclass(frozen=True)
class RowCount:
    """A number of rows, and whether it is the planner's estimate rather than a count."""

    value: int
    estimated: bool = False

    def __str__(self):
        return f"about {self.value:,}" if self.estimated else str(self.value)


def refresh_statistics(*loaded: type[models.Model], vacuum: bool = False) -> None:
    """``ANALYZE`` the models' tables after a bulk load (an import, a send plan); with
    ``vacuum``, ``VACUUM (ANALYZE)``, outside a transaction only (PostgreSQL's rule).

    Autovacuum gets there too, minutes later; until then the planner takes a table that
    just grew by a million rows for the small one it last sampled, and picks plans (and
    shows estimates) for that. Vacuuming new rows marks their pages all-visible, which lets
    a count answer from an index alone instead of visiting a million rows: under a second
    each for a million freshly imported subscribers.
    """
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    command = "VACUUM (ANALYZE)" if vacuum and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for model in loaded:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


def planner_estimate(queryset: QuerySet) -> int | None:
    """How many rows PostgreSQL expects ``queryset`` to return; None on other databases."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def row_count(queryset: QuerySet, exact_limit: int | None = None) -> RowCount:
    """The exact count of a small result, the estimate of a large one (one or two queries)."""
    limit = settings.ADMIN_EXACT_COUNT_LIMIT if exact_limit is None else exact_limit
    estimate = planner_estimate(queryset)
    if estimate is None or estimate < limit:
        return RowCount(queryset.count())
    return RowCount(estimate, estimated=True)


def counts_by(queryset: QuerySet, field: str, values, *, estimated: bool) -> dict[str, RowCount]:
    """``{value: RowCount}`` of ``queryset`` split by ``field``: one grouped count of a small
    result, the planner's estimate of each part of a large one (one ``EXPLAIN`` each).

    Parts of a large list are never counted, not even those expected to be small: proving
    a part empty can cost as much as reading the whole filtered list. A value the table's
    statistics never saw is estimated at none, without an ``EXPLAIN``: the planner would
    say one row, its floor, and "about 1 complained" would be one reader too many.
    """
    if estimated and connections[queryset.db].vendor == "postgresql":
        seen = value_estimates(queryset.model, field, values) if "__" not in field else None
        unseen = {v for v in values if seen and seen[0] * seen[1][str(v)] < 0.5}
        return {
            value: RowCount(
                0 if value in unseen else planner_estimate(queryset.filter(**{field: value})),
                estimated=True,
            )
            for value in values
        }
    exact = dict(queryset.order_by().values_list(field).annotate(n=models.Count("pk")))
    return {value: RowCount(exact.get(value, 0)) for value in values}


# What PostgreSQL assumes of "column = value" when it has no statistics (DEFAULT_EQ_SEL).
DEFAULT_EQUALITY_SHARE = 0.005


def value_estimates(model, field: str, values) -> tuple[int, dict[str, float]] | None:
    """The rows of ``model``'s table, and the share of them with each of ``values`` in
    ``field``, as the planner reckons them; None on databases other than PostgreSQL, and
    for a table never analyzed.

    One query for any number of values, where an ``EXPLAIN`` each would cost one per
    value: the statistics ``ANALYZE`` keeps (``pg_stats``) are read the way the planner
    reads them for ``field = value``. A value among the most common has its measured
    share; any other value, an even part of what the most common leave.
    """
    if connections[model.objects.db].vendor != "postgresql":
        return None
    column = model._meta.get_field(field).column
    with connections[model.objects.db].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.reltuples, s.null_frac, s.n_distinct,
                   to_json(s.most_common_vals::text::text[]), to_json(s.most_common_freqs)
            FROM pg_class c
            LEFT JOIN pg_stats s ON s.schemaname = current_schema()
                AND s.tablename = c.relname AND s.attname = %s
            WHERE c.oid = %s::regclass
            """,
            [column, model._meta.db_table],
        )
        rows, null_share, distinct, common, frequencies = cursor.fetchone()
    if rows < 0:  # never analyzed: nothing known
        return None
    rows = int(rows)
    if distinct is None:  # analyzed empty, or the column left out
        return rows, {str(value): DEFAULT_EQUALITY_SHARE for value in values}
    common = dict(zip(common or [], frequencies or [], strict=True))
    distinct = -distinct * rows if distinct < 0 else distinct  # negative: a share of the rows
    others = max(distinct - len(common), 1)
    rest = max(1.0 - sum(common.values()) - null_share, 0.0) / others
    return rows, {str(value): common.get(str(value), rest) for value in values}


class EstimatedCountPaginator(Paginator):
    """The admin changelist's paginator with ``row_count``: no full count of a big table.

    ``count_is_estimate`` tells the page template to say "about". A page number past the
    estimated end is an empty page, which the admin handles like any out-of-range page.
    """

    @cached_property
    def row_count(self) -> RowCount:
        return row_count(self.object_list)

    @cached_property
    def count(self) -> int:
        return self.row_count.value

    @property
    def count_is_estimate(self) -> bool:
        return self.row_count.estimated
