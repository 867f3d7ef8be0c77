"""What the benchmarks share: a PostgreSQL database of their own, Django set up on it."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str, fresh: bool = False) -> None:
    """Create the database ``url`` names when it does not exist yet (``fresh``: drop it
    first, for a benchmark that loads its own rows)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_data() -> None:
    """Empty the tables a benchmark fills (never point a benchmark at a real database).

    CASCADE empties what refers to these too: deliveries, dispatches, welcome sequences,
    subscriptions, clicks.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE issues_delivery, issues_dispatch, issues_snapshot, issues_issue, "
            "issues_newsletter, subscribers_subscription, subscribers_subscriber, "
            "subscribers_tag, subscribers_segment CASCADE"
        )


def setup_django(folder: str, database_url: str | None = None) -> None:
    """Django in this process, migrated, on ``database_url`` or a SQLite file in ``folder``.

    Tasks and the cache stay in this process (no broker, no Redis): these benchmarks time
    the code, not the services.
    """
    os.environ["VAR_DIR"] = str(folder)
    os.environ["MEDIA_ROOT"] = str(Path(folder) / "media")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    migrate()


def migrate() -> None:
    """``django.setup()`` and the migrations, on the database the environment names."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def migrated_and_empty(database_url: str) -> None:
    """The benchmark's own PostgreSQL database, created if missing, migrated and emptied."""
    ensure_database(database_url)
    migrate()
    reset_data()
