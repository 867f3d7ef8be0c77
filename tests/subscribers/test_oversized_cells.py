"""A cell longer than the csv module's field limit costs its own line, never the file.

The limit (131,072 characters) keeps a runaway quoted cell from filling memory. Past it, the
header row still names the columns and a data line is rejected with its reason; every other
line imports, from the admin's upload page (a real worker) and from ``import_subscribers``.
"""

import csv
import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from subscribers.models import Subscriber
from tests.support.admin import staff
from tests.support.subscribers import finished_import

IMPORT = "/admin/subscribers/subscriber/import/"
LIMIT = csv.field_size_limit()
HUGE = "x" * (LIMIT + 1)
OVERSIZED = f"a cell longer than {LIMIT:,} characters"

HUGE_HEADER = f"email,name,{HUGE}\nada@example.org,Ada,\ngrace@example.org,Grace,\n"
HUGE_CELLS = (
    "email,name\n"
    "ada@example.org,Ada\n"
    f"huge@example.org,{HUGE}\n"
    f'quoted@example.org,"{HUGE}"\n'
    "grace@example.org,Grace\n"
)


def imported():
    return sorted(Subscriber.objects.values_list("email", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_admin_imports_around_a_huge_header_cell_and_huge_data_cells(
    client, newsletter, worker
):
    client.force_login(staff("importer", "view_subscriber", "add_subscriber", "change_subscriber"))
    for text in (HUGE_HEADER, HUGE_CELLS):
        data = ContentFile(text.encode(), name="list.csv")
        response = client.post(IMPORT, {"file": data, "newsletter": newsletter.pk})
        assert response.status_code == 302, response.content.decode()[:2000]
        figures = finished_import(client, response.url)
        assert figures["status"] == "done", figures
    assert imported() == ["ada@example.org", "grace@example.org"]
    assert (figures["imported"], figures["rejected"]) == (0, 4)  # the second file
    page = client.get(response.url).content.decode()
    assert page.count(OVERSIZED) == 2, "lines 3 and 4 each say why"


@pytest.mark.django_db
def test_the_command_imports_around_huge_cells_and_names_each_line(newsletter, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(HUGE_CELLS)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), stdout=out, stderr=err)
    assert "weekly: 2 imported" in out.getvalue()
    assert f"line 3: '': {OVERSIZED}" in err.getvalue()
    assert f"line 4: '': {OVERSIZED}" in err.getvalue()
    assert imported() == ["ada@example.org", "grace@example.org"]

    path.write_text(HUGE_HEADER.replace("ada@", "ann@").replace("grace@", "greta@"))
    call_command("import_subscribers", str(path), stdout=out, stderr=err)
    assert "weekly: 2 imported" in out.getvalue()
    assert len(imported()) == 4


@pytest.mark.django_db
def test_a_huge_header_without_an_email_column_is_refused_in_a_readable_message(client, newsletter):
    client.force_login(staff("importer", "view_subscriber", "add_subscriber", "change_subscriber"))
    data = ContentFile(f"name,{HUGE}\nAda,x\n".encode(), name="list.csv")
    page = client.post(IMPORT, {"file": data, "newsletter": newsletter.pk})
    assert page.status_code == 200
    text = page.content.decode()
    assert "needs an &#x27;email&#x27; column" in text
    assert HUGE[:1000] not in text, "the message names the cell, it does not repeat it"
