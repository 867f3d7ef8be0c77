"""One mailbox, one spelling: how addresses are normalized and kept unique."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from subscribers import services, tokens
from subscribers.models import Subscriber


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("  Ada@Example.ORG \n", "Ada@example.org"),
        ("grace@BÜCHER.example", "grace@xn--bcher-kva.example"),
        ("first.last+news@sub.example.co.uk", "first.last+news@sub.example.co.uk"),
    ],
)
def test_addresses_are_trimmed_and_their_domain_lowercased_and_punycoded(raw, normalized):
    assert services.normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plain",
        "@example.org",
        "ada@",
        "a@b@c.example",
        "ada@exa mple.org",
        "ada@example.org\nBcc: x@example.org",
        "x" * 250 + "@example.org",
    ],
)
def test_invalid_addresses_are_refused_with_a_message(raw):
    with pytest.raises(ValidationError) as error:
        services.normalize_email(raw)
    assert error.value.messages[0]


@pytest.mark.django_db
def test_the_same_address_in_another_case_cannot_be_stored_twice():
    Subscriber.objects.create(email="ada@example.org")
    with pytest.raises(IntegrityError):
        Subscriber.objects.create(email="ADA@example.org")


@pytest.mark.django_db
def test_subscribing_in_another_case_finds_the_same_subscriber(newsletter):
    first = services.subscribe("ada@example.org", [newsletter])
    again = services.subscribe("ADA@Example.org", [newsletter])
    assert first.pk == again.pk
    assert Subscriber.objects.count() == 1


def test_mailto_unsubscribe_uses_the_configured_address_with_the_token_as_subject(settings):
    settings.UNSUBSCRIBE_EMAIL = "Weekly <leave@news.example.org>"
    uri = tokens.unsubscribe_mailto(7, 3)
    assert uri.startswith("mailto:leave@news.example.org?subject=unsubscribe%20")
    token = uri.rsplit("%20", 1)[1]
    from urllib.parse import unquote

    assert tokens.read_unsubscribe_link(unquote(token))[:2] == (7, 3)


def test_unsubscribe_url_is_absolute_on_the_site_url(settings):
    settings.SITE_URL = "https://news.example.org"
    url = tokens.unsubscribe_url(7, 3)
    assert url.startswith("https://news.example.org/unsubscribe/")
    assert tokens.read_unsubscribe_link(url.rstrip("/").rsplit("/", 1)[1])[:2] == (7, 3)
