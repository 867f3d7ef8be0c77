"""Addresses at an IP literal or a host without a dot are refused, on every way in.

``x@[127.0.0.1]`` and ``x@localhost`` pass Django's email validator, and a confirmation to
them goes to whatever the sending server reaches there: its own loopback, an internal host.
The public form (HTML and JSON) and both imports (the admin's and the command) refuse them
with a message saying why; the other lines of an import still go in.
"""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from subscribers.models import Subscriber
from tests.support.admin import staff
from tests.support.subscribers import finished_import

LITERALS = ["x@[127.0.0.1]", "x@[IPv6:::1]", "x@[10.0.0.5]"]
DOTLESS = ["x@localhost", "x@LocalHost"]
LITERAL_MESSAGE = "address literal"
DOTLESS_MESSAGE = "not a full domain name"


def expected_message(address):
    return LITERAL_MESSAGE if "[" in address else DOTLESS_MESSAGE


@pytest.mark.django_db
@pytest.mark.parametrize("address", LITERALS + DOTLESS)
def test_the_subscribe_form_refuses_the_address_with_a_message(client, newsletter, address):
    page = client.post("/subscribe/", {"email": address, "newsletter": "weekly"})
    assert page.status_code == 400
    assert expected_message(address) in page.content.decode()

    api = client.post(
        "/subscribe/",
        {"email": address, "newsletter": "weekly"},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert expected_message(address) in api.json()["errors"]["email"][0]["message"]
    assert not Subscriber.objects.exists()


LIST = (
    "email,name\n" + "".join(f"{a},Someone\n" for a in LITERALS + DOTLESS) + "ok@example.org,Ok\n"
)


@pytest.mark.django_db
def test_the_import_command_rejects_each_such_line_and_imports_the_rest(newsletter, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(LIST)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), stdout=out, stderr=err)
    assert "weekly: 1 imported" in out.getvalue()
    for line, address in enumerate(LITERALS + DOTLESS, start=2):
        assert f"line {line}: {address!r}: invalid address: " in err.getvalue()
        reason = err.getvalue().split(f"line {line}: ")[1].splitlines()[0]
        assert expected_message(address) in reason, reason
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ok@example.org"]


@pytest.mark.django_db(transaction=True)
def test_the_admin_import_rejects_each_such_line_and_imports_the_rest(client, newsletter, worker):
    client.force_login(staff("importer", "view_subscriber", "add_subscriber", "change_subscriber"))
    data = ContentFile(LIST.encode(), name="list.csv")
    response = client.post(
        "/admin/subscribers/subscriber/import/", {"file": data, "newsletter": newsletter.pk}
    )
    figures = finished_import(client, response.url)
    assert (figures["imported"], figures["rejected"]) == (1, len(LITERALS + DOTLESS))
    page = client.get(response.url).content.decode()
    assert page.count(LITERAL_MESSAGE) == len(LITERALS)
    assert page.count(DOTLESS_MESSAGE) == len(DOTLESS)
