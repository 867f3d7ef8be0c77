"""Anymail's own sample events of seven ESPs, posted to the real webhook URLs, end each
address in the state the ESP meant: a delay is never a bounce, the ESP's soft/hard call is
honoured, repeats count once, and the order of arrival does not matter."""

import json
from contextlib import contextmanager

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from subscribers.models import ConsentEvent, Subscriber, SuppressionEvent
from tests.support import esp_samples
from tests.support.esp_samples import ESPS, addresses_in, load, post, sample_names
from tests.support.subscribers import active_reader

pytestmark = pytest.mark.django_db

ACTIVE, BOUNCED, COMPLAINED, UNSUBSCRIBED = "active", "bounced", "complained", "unsubscribed"

# What each sample means for the addresses it names (any other address stays active).
MEANT = {
    ("postmark", "bounce_event"): {"bounce@example.com": BOUNCED},
    ("postmark", "delivered_event"): {},
    ("postmark", "spam_event"): {"spam@example.com": COMPLAINED},
    ("postmark", "unsubscribe"): {"john@example.com": UNSUBSCRIBED},
    ("postmark", "subscription_change_bounce"): {"john@example.com": BOUNCED},
    ("sendgrid", "bounce_event"): {"noreply@example.com": BOUNCED},
    ("sendgrid", "deferred_event"): {},
    ("sendgrid", "delivered_event"): {},
    ("sendgrid", "dropped_bounced"): {"example@example.com": BOUNCED},
    ("sendgrid", "dropped_invalid_event"): {},
    ("sendgrid", "dropped_unsubscribed_event"): {"unsubscribe@example.com": UNSUBSCRIBED},
    ("mailgun", "complained_event"): {"recipient@example.com": COMPLAINED},
    ("mailgun", "delivered_event"): {},
    ("mailgun", "failed_greylisted_event"): {},
    ("mailgun", "failed_permanent_event"): {"invalid@example.com": BOUNCED},
    ("mailgun", "failed_temporary_event"): {},
    ("mailgun", "rejected_event"): {},  # Mailgun refused to send: not the reader's doing
    ("mailgun", "unsubscribed_event"): {"recipient@example.com": UNSUBSCRIBED},
    ("amazon_ses", "bounce_event"): {"jane@example.com": BOUNCED},
    ("amazon_ses", "multiple_bounce_event"): {
        "jane@example.com": BOUNCED,
        "richard@example.com": BOUNCED,
    },
    ("amazon_ses", "complaint_event"): {"richard@example.com": COMPLAINED},
    ("amazon_ses", "delivery_event"): {},
    ("amazon_ses", "send_event"): {},
    ("amazon_ses", "reject_event"): {},  # SES refused the message (a virus), not the address
    ("brevo", "blocked"): {},
    ("brevo", "deferred_event"): {},
    ("brevo", "delivered_event"): {},
    ("brevo", "hard_bounce"): {"not-a-user@example.com": BOUNCED},
    ("brevo", "soft_bounce_event"): {},  # one soft bounce: counted, not blocking
    ("brevo", "spam"): {"recipient@example.com": COMPLAINED},
    ("brevo", "unsubscribe"): {"recipient@example.com": UNSUBSCRIBED},
    ("mailjet", "blocked_event"): {"bad@example.com": BOUNCED},  # "invalid" address
    ("mailjet", "bounce_event"): {},  # names invalid@invalid, which no reader can have
    ("mailjet", "bounced_greylist_event"): {},
    ("mailjet", "sent_event"): {},
    ("mailjet", "spam_event"): {"spam@example.com": COMPLAINED},
    ("mailjet", "unsub_event"): {"recipient@example.com": UNSUBSCRIBED},
    ("resend", "complained_event"): {"complained@resend.dev": COMPLAINED},
    ("resend", "delivered_event"): {},
    ("resend", "delivery_delayed_event"): {},
    ("resend", "hard_bounced_event"): {"bounced@resend.dev": BOUNCED},
    ("resend", "sent_event"): {},
    ("resend", "suppressed_event"): {"blocked@example.org": BOUNCED},
}
SOFT_BOUNCED = {("brevo", "soft_bounce_event"): "recipient@no-mx.example.com"}


def readers_for(newsletter, esp):
    """An active reader for every address any sample of ``esp`` names."""
    emails = set().union(*(addresses_in(load(esp, name)) for name in sample_names(esp)))
    known = set(Subscriber.objects.values_list("email", flat=True))
    return {email: active_reader(newsletter, email) for email in sorted(emails - known)}


def state():
    return {
        email: (status, soft)
        for email, status, soft in Subscriber.objects.values_list("email", "status", "soft_bounces")
    }


def test_every_sample_of_every_esp_is_in_the_table():
    assert {(esp, name) for esp in ESPS for name in sample_names(esp)} == set(MEANT)


@pytest.mark.parametrize(("esp", "name"), sorted(MEANT))
def test_each_sample_posted_twice_leaves_each_address_as_the_esp_meant(
    client, newsletter, settings, esp, name
):
    settings.SOFT_BOUNCE_LIMIT = 1  # a single counted soft bounce would block at once
    readers_for(newsletter, esp)
    payload = load(esp, name)
    for _ in range(2):
        response = post(client, esp, payload)
        assert response.status_code == 200, response.content
    meant = MEANT[(esp, name)]
    soft = SOFT_BOUNCED.get((esp, name))
    for email, (status, soft_bounces) in state().items():
        if email == soft:
            assert (status, soft_bounces) == (ACTIVE, 1), email
        else:
            assert (status, soft_bounces) == (meant.get(email, ACTIVE), 0), email
    assert SuppressionEvent.objects.count() == sum(1 for s in meant.values() if s != ACTIVE)


@pytest.mark.parametrize(
    ("esp", "name"),
    [
        ("sendgrid", "deferred_event"),
        ("mailgun", "failed_temporary_event"),
        ("mailgun", "failed_greylisted_event"),
        ("brevo", "deferred_event"),
        ("resend", "delivery_delayed_event"),
        ("mailjet", "bounced_greylist_event"),
    ],
)
def test_a_delay_is_never_a_bounce(client, newsletter, settings, esp, name):
    settings.SOFT_BOUNCE_LIMIT = 1
    readers_for(newsletter, esp)
    assert post(client, esp, load(esp, name)).status_code == 200
    assert {status for status, soft in state().values()} == {ACTIVE}
    assert {soft for status, soft in state().values()} == {0}


def with_field(payload, path, value):
    """A copy of ``payload`` with one field changed, for variants the samples lack."""
    payload = json.loads(json.dumps(payload))
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


def ses_bounce(bounce_type, when):
    notification = load("amazon_ses", "bounce_event")
    message = json.loads(notification["Message"])
    message["bounce"]["bounceType"] = bounce_type
    message["bounce"]["timestamp"] = when
    notification["Message"] = json.dumps(message)
    return with_field(notification, ["MessageId"], f"sns-{bounce_type}-{when}")


def test_the_esps_own_soft_bounces_do_not_block_at_once(client, newsletter):
    """Brevo soft_bounce, Postmark SoftBounce and SES Transient are soft (limit 3)."""
    for esp in ["brevo", "postmark", "amazon_ses"]:
        readers_for(newsletter, esp)
    postmark_soft = with_field(load("postmark", "bounce_event"), ["Type"], "SoftBounce")
    assert post(client, "brevo", load("brevo", "soft_bounce_event")).status_code == 200
    assert post(client, "postmark", postmark_soft).status_code == 200
    ses = ses_bounce("Transient", "2016-01-27T14:59:44.101Z")
    assert post(client, "amazon_ses", ses).status_code == 200
    now = state()
    for email in ["recipient@no-mx.example.com", "bounce@example.com", "jane@example.com"]:
        assert now[email] == (ACTIVE, 1), email
    assert not SuppressionEvent.objects.exists()


def brevo_soft_bounce(day):
    """Brevo's soft bounce sample, ``day`` days later (Brevo sends no event id)."""
    sample = load("brevo", "soft_bounce_event")
    return with_field(sample, ["ts_epoch"], sample["ts_epoch"] + day * 86_400_000)


def test_soft_bounces_suppress_after_the_limit_over_the_window_and_a_delivery_lifts_it(
    client, newsletter, settings
):
    settings.SOFT_BOUNCE_LIMIT, settings.SOFT_BOUNCE_WINDOW_DAYS = 3, 15
    readers_for(newsletter, "brevo")
    address = "recipient@no-mx.example.com"
    for day in [0, 7, 14, 7, 0]:  # three distinct bounces over 14 days, two repeats
        assert post(client, "brevo", brevo_soft_bounce(day)).status_code == 200
    assert state()[address] == (ACTIVE, 3)

    post(client, "brevo", brevo_soft_bounce(15))
    assert state()[address] == (BOUNCED, 4)
    reader = Subscriber.objects.get(email=address)
    event = reader.suppression_events.get()
    assert event.kind == SuppressionEvent.Kind.SOFT_BOUNCES and "Unable to find MX" in event.reason

    delivered = load("brevo", "delivered_event")
    later = brevo_soft_bounce(16)["ts_epoch"]
    post(client, "brevo", {**delivered, "email": address, "ts_epoch": later})
    assert state()[address] == (ACTIVE, 0)


def test_a_delivery_older_than_the_soft_bounces_clears_nothing(client, newsletter, settings):
    settings.SOFT_BOUNCE_LIMIT, settings.SOFT_BOUNCE_WINDOW_DAYS = 3, 0
    readers_for(newsletter, "brevo")
    address = "recipient@no-mx.example.com"
    delivered = {**load("brevo", "delivered_event"), "email": address}
    first = brevo_soft_bounce(0)["ts_epoch"]
    post(client, "brevo", {**delivered, "ts_epoch": first + 1000})  # after the first only
    for day in [0, 1, 2]:
        post(client, "brevo", brevo_soft_bounce(day))
    assert state()[address] == (ACTIVE, 2)
    post(client, "brevo", brevo_soft_bounce(3))
    assert state()[address] == (BOUNCED, 3)


def test_events_without_an_id_count_once_however_often_repeated(client, newsletter, settings):
    settings.SOFT_BOUNCE_LIMIT = 5
    readers_for(newsletter, "postmark")
    readers_for(newsletter, "mailjet")
    for _ in range(3):
        post(client, "postmark", load("postmark", "unsubscribe"))
        post(client, "mailjet", load("mailjet", "unsub_event"))
    john = Subscriber.objects.get(email="john@example.com")
    assert john.suppression_events.count() == 1
    assert ConsentEvent.objects.filter(subscriber=john, action="unsubscribe").count() == 1
    recipient = Subscriber.objects.get(email="recipient@example.com")
    assert recipient.suppression_events.count() == 1


def test_sendgrid_dropped_as_unsubscribed_suppresses_with_the_reason(client, newsletter):
    readers_for(newsletter, "sendgrid")
    post(client, "sendgrid", load("sendgrid", "dropped_unsubscribed_event"))
    reader = Subscriber.objects.get(email="unsubscribe@example.com")
    assert reader.status == UNSUBSCRIBED
    assert reader.subscriptions.get().status == "unsubscribed"
    event = reader.suppression_events.get()
    assert event.kind == SuppressionEvent.Kind.ESP_UNSUBSCRIBE
    assert "unsubscribed" in event.reason.lower()


MALFORMED = [b"not json at all", b"", b'["a", "list"]', b'"a bare string"']


@pytest.mark.parametrize("esp", ESPS)
@pytest.mark.parametrize("body", MALFORMED, ids=["not-json", "empty", "list", "string"])
def test_malformed_bodies_get_400_and_change_nothing(client, newsletter, esp, body):
    readers_for(newsletter, esp)
    before = state()
    response = post(client, esp, body=body)
    assert response.status_code == 400
    assert state() == before and not SuppressionEvent.objects.exists()


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def end_state(client, newsletter, esp, names):
    with rolled_back():
        readers_for(newsletter, esp)
        for name in names:
            assert post(client, esp, load(esp, name)).status_code == 200
        return state()


@pytest.mark.parametrize("esp", ESPS)
def test_the_end_state_does_not_depend_on_order_or_repetition(client, newsletter, settings, esp):
    """Hypothesis replays every sample of the ESP, shuffled, some of them again."""
    settings.SOFT_BOUNCE_LIMIT, settings.SOFT_BOUNCE_WINDOW_DAYS = 2, 0
    names = sample_names(esp)
    expected = end_state(client, newsletter, esp, names)

    @hypothesis_settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(repeats=st.lists(st.sampled_from(names), max_size=len(names)), data=st.data())
    def replay(repeats, data):
        order = data.draw(st.permutations(names + repeats))
        assert end_state(client, newsletter, esp, order) == expected

    replay()
    assert esp_samples.SECRET  # the posts above were authenticated, not open
