"""No cell of a subscriber export starts a formula, however a spreadsheet splits it.

A spreadsheet opening the CSV may split cells again on ``;``, ``,`` or tab (its import
dialog offers each), and tags are ``;``-separated inside their cell. So the file is read
back with a real CSV parser, each cell split on every separator, and no piece may start
with ``=``, ``+``, ``-``, ``@``, tab or CR: from the command and from the admin's export.
"""

import csv
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from subscribers.models import Subscriber, Tag
from tests.support.subscribers import join_directly

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = re.compile(r"[;,\t\r\n]")
NAMES = [
    "Ann;=cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(1)",
    "\t=1+1",
    "Ann\t=2+2",
    "Bob,+3",
    "Cy; -4",
    "Di;@SUM(A1)",
    "Ed\r=5",
]


@pytest.fixture
def hostile_audience(newsletter):
    for n, name in enumerate(NAMES):
        join_directly(f"reader{n}@example.org", [newsletter], name=name)
    tagged = Subscriber.objects.get(email="reader0@example.org")
    tagged.tags.add(Tag.objects.create(name="=HYPERLINK(1)"), Tag.objects.create(name="+x"))
    join_directly('"a;=evil"@example.org', [newsletter], name="Quoted Local Part")


def pieces_starting_a_formula(csv_text):
    """Every piece of every cell that a spreadsheet could take for a formula."""
    found = []
    for row in csv.reader(io.StringIO(csv_text)):
        for cell in row:
            for piece in [cell, *SEPARATORS.split(cell)]:
                if piece.lstrip(" ").startswith(FORMULA_START):
                    found.append((cell, piece))
    return found


def test_the_export_command_writes_no_piece_a_spreadsheet_runs(hostile_audience):
    out = io.StringIO()
    call_command("export_subscribers", stdout=out, stderr=io.StringIO())
    assert len(list(csv.reader(io.StringIO(out.getvalue())))) == len(NAMES) + 2
    assert pieces_starting_a_formula(out.getvalue()) == []


def test_the_admin_export_writes_no_piece_a_spreadsheet_runs(client, hostile_audience):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-tests"))
    response = client.get("/admin/subscribers/subscriber/export/")
    text = b"".join(response.streaming_content).decode()
    assert pieces_starting_a_formula(text) == []
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(text))}
    # Neutralised, not lost: the quote goes in front of the formula piece only.
    assert rows["reader0@example.org"]["name"] == "Ann;'=cmd|' /C calc'!A0"
    assert rows["reader1@example.org"]["name"] == "'=1+1"
    assert rows["reader0@example.org"]["tags"] == "'+x;'=HYPERLINK(1)"
