"""A stranger renames a reader: ``POST /subscribe/`` with someone's address and a name.

Found in review: the name was written onto the existing reader at once, unconfirmed, and
then greeted them in welcome mails and showed in the admin and exports. A name given with
a request now waits on that request until the mailbox owner confirms it.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from subscribers.models import Subscriber
from tests.support.subscribers import active_reader, links_in, path_of, text_of, wait_for_mails

ATTACK = "Ann. URGENT: your invoice is overdue, pay at invoices.example"


def post(client, email, name, newsletter, api):
    body = {"email": email, "name": name, "newsletter": newsletter.slug}
    if api:
        return client.post("/subscribe/", body, content_type="application/json")
    return client.post("/subscribe/", body)


def html_of(received):
    return received.message.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize("api", [False, True], ids=["form", "json"])
def test_a_stranger_cannot_name_an_active_reader(client, admin_client, mail, newsletter, api):
    reader = active_reader(newsletter)  # nameless, as many imports leave readers
    assert post(client, reader.email, ATTACK, newsletter, api).status_code == 200
    assert Subscriber.objects.get(pk=reader.pk).name == ""
    # The note the owner gets ("someone used your address") does not carry it either.
    [note] = wait_for_mails(mail, reader.email)
    assert ATTACK not in text_of(note) and ATTACK not in html_of(note)
    export = StringIO()
    call_command("export_subscribers", stdout=export)
    assert ATTACK not in export.getvalue()
    assert ATTACK not in admin_client.get("/admin/subscribers/subscriber/").content.decode()


@pytest.mark.parametrize("api", [False, True], ids=["form", "json"])
def test_a_requests_name_applies_once_its_own_link_is_confirmed(
    client, mail, newsletter, second_newsletter, api
):
    reader = active_reader(newsletter)
    assert post(client, reader.email, "Ann Example", second_newsletter, api).status_code == 200
    assert Subscriber.objects.get(pk=reader.pk).name == ""
    [confirmation] = wait_for_mails(mail, reader.email)
    assert "Ann Example" not in text_of(confirmation)  # nothing a stranger typed is mailed
    [link] = links_in(confirmation, "/subscribe/confirm/")
    # The owner sees what confirming would do; looking changes nothing.
    assert "Ann Example" in client.get(path_of(link)).content.decode()
    assert Subscriber.objects.get(pk=reader.pk).name == ""

    assert client.post(path_of(link)).status_code == 200
    assert Subscriber.objects.get(pk=reader.pk).name == "Ann Example"
    welcome = wait_for_mails(mail, reader.email, count=2)[1]
    assert "Welcome, Ann Example!" in text_of(welcome)


def test_a_new_address_is_nameless_until_confirmed_and_a_name_is_never_replaced(
    client, mail, newsletter, second_newsletter
):
    assert post(client, "new@example.net", "Nora", newsletter, api=False).status_code == 200
    assert Subscriber.objects.get(email="new@example.net").name == ""
    [confirmation] = wait_for_mails(mail, "new@example.net")
    assert client.post(path_of(links_in(confirmation, "/subscribe/confirm/")[0])).status_code == 200
    assert Subscriber.objects.get(email="new@example.net").name == "Nora"
    # Another request later, with another name, confirmed: the reader's name stays theirs.
    assert post(client, "new@example.net", ATTACK, second_newsletter, api=True).status_code == 200
    [_, _, second] = wait_for_mails(mail, "new@example.net", count=3)
    assert client.post(path_of(links_in(second, "/subscribe/confirm/")[0])).status_code == 200
    assert Subscriber.objects.get(email="new@example.net").name == "Nora"
