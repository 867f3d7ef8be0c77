"""Finding 9: the subscribe form's abuse controls, attacked the way they leaked."""

import pytest

from subscribers.models import Subscriber
from tests.support.subscribers import text_of, wait_for_mails


@pytest.fixture
def limits(settings):
    settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR = 20
    settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY = 5


def post(client, email, remote_addr, **extra):
    return client.post(
        "/subscribe/",
        {"email": email, "newsletter": "weekly", **extra},
        REMOTE_ADDR=remote_addr,
    )


@pytest.mark.django_db
def test_one_ipv6_slash_64_shares_one_limit(client, newsletter, limits):
    """An attacker holds a whole /64: each of its addresses is the same client."""
    answers = [
        post(client, f"target{n}@example.net", f"2001:db8:beef:cafe::{n + 1:x}").status_code
        for n in range(21)
    ]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429
    # Another /64 is another client.
    assert post(client, "other@example.net", "2001:db8:beef:cafd::1").status_code == 200


@pytest.mark.django_db
def test_a_request_whose_client_address_is_unknown_is_refused(client, newsletter, limits):
    """Behind a unix socket REMOTE_ADDR is empty: no per-IP limit could hold, so refuse."""
    response = post(client, "target@example.net", "")
    assert response.status_code == 429
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variants",
    [
        [f"victim+{n}@example.net" for n in range(6)],
        [
            "j.doe@gmail.com",
            "jdoe@gmail.com",
            "j.d.o.e@gmail.com",
            "J.Doe+x@gmail.com",
            "jd.oe@googlemail.com",
            "jdoe+news@gmail.com",
        ],
    ],  # fmt: skip
)
def test_address_variants_share_the_per_address_limit(client, newsletter, limits, variants):
    """Plus tags (and dots, at Gmail) reach one mailbox: they share its five a day."""
    answers = [
        post(client, email, f"198.51.100.{n + 1}").status_code for n, email in enumerate(variants)
    ]
    assert answers == [200] * 5 + [429]


@pytest.mark.worker
def test_the_confirmation_mail_carries_no_text_the_requester_chose(client, mail, newsletter):
    lure = "Your account is locked, call +1 555 0100"
    response = post(client, "victim@example.net", "198.51.100.7", name=lure)
    assert response.status_code == 200
    message = wait_for_mails(mail, "victim@example.net", 1)[0]
    html = message.message.get_body(preferencelist=("html",)).get_content()
    assert "locked" not in text_of(message) and "locked" not in html
    assert "locked" not in message.message["Subject"]
