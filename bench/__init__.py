"""Benchmarks: ``make bench`` runs each ``bench_*.py``; each prints one ``BENCH`` line.

They run on this machine's embedded development settings unless a benchmark sets its own
(the archive benchmark serves with DEBUG off): DEBUG is off by default, and production
settings would ask for secrets a throwaway benchmark site does not have.
"""

import os

os.environ.setdefault("DEBUG", "1")


def ensure_database(url: str) -> None:
    """Create the benchmark's own PostgreSQL database when it is missing."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
