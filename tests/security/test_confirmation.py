"""Finding 3: a confirmation link confirms the newsletters it names, from its own request."""

import pytest

from subscribers import tokens
from subscribers.models import Subscriber, Subscription
from tests.support.subscribers import links_in, path_of, wait_for_mails

pytestmark = pytest.mark.worker

VICTIM = "victim@example.net"


def subscribe(client, newsletter):
    response = client.post("/subscribe/", {"email": VICTIM, "newsletter": newsletter.slug})
    assert response.status_code == 200


def confirm_link(message):
    return path_of(links_in(message, "/subscribe/confirm/")[0])


def statuses():
    subscriber = Subscriber.objects.get(email=VICTIM)
    return dict(subscriber.subscriptions.values_list("newsletter__slug", "status"))


def test_a_link_for_one_newsletter_does_not_confirm_another_asked_for_later(
    client, mail, newsletter, second_newsletter
):
    """A reader confirms "weekly"; someone else signed the address up to "field-notes" too.

    The weekly link must not confirm field-notes, which the reader never agreed to.
    """
    subscribe(client, newsletter)
    first = wait_for_mails(mail, VICTIM, 1)[0]
    subscribe(client, second_newsletter)
    wait_for_mails(mail, VICTIM, 2)

    assert client.post(confirm_link(first)).status_code == 200
    assert statuses() == {
        "weekly": Subscription.Status.ACTIVE,
        "field-notes": Subscription.Status.PENDING,
    }


def test_each_request_gets_its_own_nonce_and_a_used_link_stays_used(
    client, mail, newsletter, second_newsletter
):
    subscribe(client, newsletter)
    subscribe(client, second_newsletter)
    first, second = wait_for_mails(mail, VICTIM, 2)[:2]
    first_token = confirm_link(first).rstrip("/").rsplit("/", 1)[1]
    second_token = confirm_link(second).rstrip("/").rsplit("/", 1)[1]
    assert (
        tokens.read_confirmation_token(first_token)[2]
        != (tokens.read_confirmation_token(second_token)[2])
    )

    assert client.post(confirm_link(second)).status_code == 200
    assert statuses()["field-notes"] == Subscription.Status.ACTIVE
    assert statuses()["weekly"] == Subscription.Status.PENDING
    # Leaving field-notes, then replaying its link, brings nothing back.
    from subscribers import services

    services.unsubscribe(Subscriber.objects.get(email=VICTIM), [second_newsletter.pk])
    assert client.post(confirm_link(second)).status_code == 400
    assert statuses()["field-notes"] == Subscription.Status.UNSUBSCRIBED
