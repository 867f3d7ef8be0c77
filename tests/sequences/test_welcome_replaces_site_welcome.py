"""A newsletter whose welcome sequence greets at once: no second, generic welcome besides."""

from datetime import timedelta

from django.test import Client

from subscribers.models import Subscriber
from tests.support.factories import make_newsletter
from tests.support.sequences import welcome_sequence
from tests.support.subscribers import (
    join_directly,
    links_in,
    mails_to,
    path_of,
    wait_for_mails,
)

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"


def join(email, newsletter, sink):
    """Subscribe through the form and confirm by the mailed link, as a person does."""
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    form = {"email": email, "newsletter": newsletter.slug}
    assert client.post("/subscribe/", form).status_code == 200
    [url] = links_in(wait_for_mails(sink, email)[0], "/subscribe/confirm/")
    assert client.post(path_of(url)).status_code == 200
    return Subscriber.objects.get(email=email)


def subjects(sink, email):
    return sorted(m.message["Subject"] for m in mails_to(sink, email))


def test_only_newsletters_without_an_at_once_sequence_are_named_in_the_site_welcome(
    mail,
    newsletter,
):
    field_notes = make_newsletter("notes", "Field Notes", from_name="Notes")
    later = make_newsletter("later", "Later Letters", from_name="Later")
    welcome_sequence(newsletter, timedelta(0))  # greets at once: its own step 1
    welcome_sequence(later, timedelta(days=2))  # greets in two days: the site says hello now

    join("only@example.org", newsletter, mail)
    join("later@example.org", later, mail)
    # Confirming two newsletters with one link: one welcome, naming the one without its own.
    join_directly("both@example.org", [newsletter, field_notes])
    # The worker takes mails in order: once the last reader's welcome came, any welcome to
    # the others would have arrived.
    join("marker@example.org", field_notes, mail)
    wait_for_mails(mail, "marker@example.org", count=2)

    welcomes = {
        email: [s for s in subjects(mail, email) if s.startswith("Welcome")]
        for email in ("both@example.org", "later@example.org", "only@example.org")
    }
    assert welcomes == {
        "both@example.org": ["Welcome to Field Notes"],
        "later@example.org": ["Welcome to Later Letters"],
        "only@example.org": [],
    }
