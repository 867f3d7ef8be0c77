"""An import finds the subscribers it already knows by index, on every database.

On SQLite the lookup of known subscribers once scanned the whole subscriber table for every
staged line, so an import grew with the square of its size (8,000 lines in 10 s, 100,000 in
half an hour) while every test, being small, stayed fast. The database's own plan for each
statement of a real import says whether that can happen again.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscribers.imports import import_csv
from subscribers.models import Subscriber
from tests.support.factories import make_newsletter

SUBSCRIBERS = Subscriber._meta.db_table


def full_scans_of_subscribers(sql: str, params) -> list[str]:
    """The steps of the plan of ``sql`` that read the whole subscriber table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The tables are small here, so a scan would be cheapest; forbidding it shows
            # whether an index could serve the statement at the sizes that matter.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            steps = [row[0] for row in cursor.fetchall()]
            return [step for step in steps if f"Seq Scan on {SUBSCRIBERS}" in step]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        steps = [row[3] for row in cursor.fetchall()]
        aliases = {SUBSCRIBERS, *re.findall(rf"{SUBSCRIBERS}\s+(?:AS\s+)?(\w+)", sql)}
        return [step for step in steps if step.split(" USING")[0] in {f"SCAN {a}" for a in aliases}]


@pytest.mark.django_db
def test_every_statement_of_an_import_finds_known_subscribers_by_index():
    newsletter = make_newsletter()
    known = [f"known{n}@example.org" for n in range(50)]
    people = [Subscriber(email=email.upper(), status=Subscriber.Status.ACTIVE) for email in known]
    Subscriber.objects.bulk_create(people)
    lines = ["email,name", *(f"{email},Known" for email in known)]
    lines += [f"new{n}@example.org,New" for n in range(200)]

    with CaptureQueriesContext(connection) as captured:
        report = import_csv(("\n".join(lines) + "\n").encode(), newsletter)
    assert report.imported == 200 and report.added_to_newsletter == 50, report.summary()

    judged = [q["sql"] for q in captured.captured_queries if SUBSCRIBERS in q["sql"]]
    joins = [sql for sql in judged if "subscribers_importrow" in sql]
    assert any("SET subscriber_id = s.id" in sql for sql in joins), joins  # the lookup ran
    scans = {sql: full_scans_of_subscribers(sql, None) for sql in joins}
    assert not any(scans.values()), {sql[:200]: steps for sql, steps in scans.items() if steps}
