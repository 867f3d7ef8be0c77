"""Health probes: is the database answering, is the broker reachable."""

from django.db import connection

from .celery import app


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker(timeout=2.0):
    """Open (and close) a connection to the broker, failing fast rather than retrying."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        # Redis connects lazily: a round trip proves the server answers.
        if conn.transport_cls in {"redis", "rediss"} or conn.transport.driver_type == "redis":
            conn.default_channel.client.ping()


CHECKS = {"database": check_database, "broker": check_broker}


def run_checks():
    """Return ``{name: "ok" | "error: <reason>"}`` for every check."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # a probe reports any failure, it never raises
            results[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    return results
