"""Health probes: is the database answering, is the broker reachable.

The public answer is only ``ok`` or ``error`` per check: a driver's message names hosts,
ports, users and database names. The details go to the log, for the operator.
"""

import logging

from django.db import connection

from .celery import app

logger = logging.getLogger(__name__)


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
    """Return ``{name: "ok" | "error"}`` for every check; failures are logged in full."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # a probe reports any failure, it never raises
            logger.error("Health check %s failed: %s: %s", name, type(exc).__name__, exc)
            results[name] = "error"
        else:
            results[name] = "ok"
    return results
