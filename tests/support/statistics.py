"""Planner statistics, fresh on either database the suite runs on."""

from django.db import connection


def analyze(*tables: str) -> None:
    """ANALYZE ``tables`` (every table when none): PostgreSQL's planner then knows their
    sizes; SQLite takes one table per statement."""
    with connection.cursor() as cursor:
        for table in tables or [""]:
            cursor.execute(f"ANALYZE {table}".strip())
