"""The reader's "download my data" holds every row erasure deletes or detaches, in words a
reader understands: newsletter names, email titles, link URLs and dates, never an id.

Found in review: the download left out the hashed click and open rows that erasure finds,
and showed consent events with a raw ``newsletter_id``.
"""

import re

import pytest

from issues.engagement import recorder
from issues.models import Click, Delivery, Open
from subscribers import services, tokens
from subscribers.models import ConsentEvent, Subscriber, Subscription, SuppressionEvent, Tag
from tests.support.engagement import (
    BROWSER,
    issue_linking_to,
    send_in_process,
    tracked_links,
)
from tests.support.factories import make_newsletter
from tests.support.reports import header_unsubscribe_url
from tests.support.subscribers import join_directly, path_of, post_one_click_unsubscribe

pytestmark = pytest.mark.django_db(transaction=True)

TARGET = "https://papers.example.org"
# The host, then the path: a greedy match from the last "/o/" cut the issue off when its
# number in base 36 was "o" (issue 24, on SQLite's reused ids).
PIXEL = re.compile(r'src="https?://[^"/]+(/o/[^"]+\.gif)"')


def visit(client, url):
    return client.get(path_of(url), HTTP_USER_AGENT=BROWSER)


def read_and_click(client, message, positions):
    """The reader opens the mail (its images load) and follows links at ``positions``."""
    links = tracked_links(message)[0]
    for position in positions:
        assert visit(client, links[position]).status_code == 302
    html = message.get_payload()[1].get_content()
    assert client.get(PIXEL.search(html)[1], HTTP_USER_AGENT=BROWSER).status_code == 200


def ids_and_codes(data, path="") -> list[str]:
    """Every place in the download where a database id or internal code shows through."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if re.search(r"(^|_)ids?$", key):
                found.append(f"{path}.{key}")
            found += ids_and_codes(value, f"{path}.{key}")
    elif isinstance(data, list):
        for n, value in enumerate(data):
            found += ids_and_codes(value, f"{path}[{n}]")
    elif isinstance(data, int) and not isinstance(data, bool):
        found.append(f"{path} = {data}")
    elif isinstance(data, str) and (
        re.fullmatch(r"\d+", data) or re.search(r"\b[a-z_]+:\d+", data)
    ):
        found.append(f"{path} = {data!r}")
    return found


def engagement_rows():
    return {model: dict(model.objects.values_list("pk", "reader")) for model in (Click, Open)} | {
        f"{model.__name__} links": dict(model.objects.values_list("pk", "subscriber_id"))
        for model in (Click, Open)
    }


def test_the_download_holds_every_row_erasure_touches_in_the_readers_words(
    client, smtp_sink, click_buffer
):
    history = issue_linking_to(TARGET, sections=3, track_opens=True, subscriber_history=True)
    aggregate = issue_linking_to(
        TARGET,
        sections=2,
        title="Queues at dawn",
        slug="dawn",
        name="Dawn Notes",
        from_email="dawn@example.org",
        track_opens=True,
    )
    third = make_newsletter(slug="third", name="Third Letter")
    ann = join_directly("ann@example.org", [history.newsletter, aggregate.newsletter])
    tag = Tag.objects.create(name="met at the conference")
    services.add_tag(Subscriber.objects.filter(pk=ann.pk), tag)
    send_in_process(history)
    send_in_process(aggregate)
    first, second = smtp_sink.messages
    read_and_click(client, first.message, [1, 1, 2])
    read_and_click(client, second.message, [2])
    recorder.flush()
    # She leaves Dawn Notes from that email's header; an editor suppresses and lifts her.
    assert post_one_click_unsubscribe(header_unsubscribe_url(second.message)).status_code == 200
    services.suppress(Subscriber.objects.get(pk=ann.pk), "manual", reason="Asked by phone")
    services.unsuppress(Subscriber.objects.get(pk=ann.pk), reason="Asked again")
    # She asks for a third newsletter giving a name: it waits for her confirmation.
    client.post("/subscribe/", {"email": ann.email, "name": "Ann A.", "newsletter": third.slug})

    preferences = path_of(tokens.preferences_url(ann.pk))
    data = client.get(preferences + "?download=json").json()

    assert ids_and_codes(data) == []
    assert data["tags"] == ["met at the conference"]
    assert [
        (s["newsletter"], s["status"], s["name_waiting_for_confirmation"])
        for s in data["subscriptions"]
    ] == [
        ("Signals Weekly", "Active", ""),
        ("Dawn Notes", "Unsubscribed", ""),
        ("Third Letter", "Pending confirmation", "Ann A."),
    ]
    events = {(e["action"], e["newsletter"], e["from_email"]) for e in data["consent_events"]}
    assert ("Unsubscribed", "Dawn Notes", "Dawn Notes: Queues at dawn") in events
    assert ("Confirmed", "Signals Weekly", None) in events
    assert ("Subscribed (unconfirmed)", "Third Letter", None) in events
    assert [e["what"] for e in data["suppression_events"]] == [
        "Unsuppressed by an editor",
        "Suppressed by an editor",
    ]
    emails = data["emails"]
    assert [(r["newsletter"], r["email"], r["status"]) for r in emails["received"]] == [
        ("Signals Weekly", "Small models, big inboxes", "Sent"),
        ("Dawn Notes", "Queues at dawn", "Sent"),
    ]
    assert all(r["sent_at"] for r in emails["received"])
    paper = TARGET + "/paper/{}?from=mail&kind=pdf"
    assert [(c["email"], c["link"], c["counted_as"]) for c in emails["clicks"]] == [
        ("Small models, big inboxes", paper.format(0), "a person"),
        ("Small models, big inboxes", paper.format(0), "a person"),
        ("Small models, big inboxes", paper.format(1), "a person"),
        ("Queues at dawn", paper.format(1), "a person"),  # hashed: Dawn keeps no history
    ]
    assert [o["email"] for o in emails["opens"]] == ["Small models, big inboxes", "Queues at dawn"]
    assert all(row["at"] for row in emails["clicks"] + emails["opens"])

    # Erasure deletes or detaches exactly what the download listed: not a row more.
    held = {
        "consent": ConsentEvent.objects.filter(subscriber=ann).count(),
        "suppression": SuppressionEvent.objects.filter(subscriber=ann).count(),
        "subscriptions": Subscription.objects.filter(subscriber=ann).count(),
        "deliveries": Delivery.objects.filter(subscriber=ann).count(),
        "tags": Subscriber.tags.through.objects.filter(subscriber=ann).count(),
    }
    rows_before = engagement_rows()
    erase = {"action": "erase", "confirm_erase": "1"}
    assert client.post(preferences, erase).status_code == 200
    rows_after = engagement_rows()
    changed = {
        kind: sum(rows_after[kind][pk] != value for pk, value in rows.items())
        for kind, rows in rows_before.items()
    }
    assert held == {
        "consent": len(data["consent_events"]),
        "suppression": len(data["suppression_events"]),
        "subscriptions": len(data["subscriptions"]),
        "deliveries": len(emails["received"]),
        "tags": len(data["tags"]),
    }
    assert (changed[Click], changed[Open]) == (len(emails["clicks"]), len(emails["opens"]))
    assert changed["Click links"] == 3 and changed["Open links"] == 1  # Signals' history
    assert not Subscriber.objects.filter(pk=ann.pk).exists()
