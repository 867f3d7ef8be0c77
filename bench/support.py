"""What the send benchmark and the soak run share: a PostgreSQL database of their own."""

from urllib.parse import urlsplit


def ensure_database(url: str) -> None:
    """Create the database ``url`` names when it does not exist yet."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_data() -> None:
    """Empty the tables a send fills (never point a benchmark at a real database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE issues_delivery, issues_dispatch, issues_snapshot, issues_issue, "
            "issues_newsletter, subscribers_subscription, subscribers_subscriber CASCADE"
        )
