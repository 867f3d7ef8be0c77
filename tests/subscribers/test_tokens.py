"""The sender's tokens are Django's: the signer it keeps per message (its key derived once,
its JSON written without ``json``) writes exactly what ``signing.dumps`` writes, and Django
reads them back, across a change of ``SECRET_KEY`` too."""

from types import SimpleNamespace
from unittest import mock

from django.core import signing
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from subscribers import tokens

ids = st.integers(min_value=1, max_value=2**53)
campaigns = st.one_of(st.just(""), st.from_regex(tokens.CAMPAIGN, fullmatch=True))
# One moment for both signers: a token carries the second it was made.
MOMENT = 1_765_000_000.25
json_values = st.recursive(
    st.one_of(
        st.integers(),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False),
        st.text(),
        # Printable ASCII, quotes and backslashes among it: the edge of what needs escaping.
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F)),
    ),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)


@given(subscriber_id=ids, newsletter_id=ids, campaign=campaigns)
def test_the_sender_s_tokens_are_exactly_django_s_and_read_back(
    subscriber_id, newsletter_id, campaign
):
    links = tokens.SubscriberLinks(SimpleNamespace(pk=newsletter_id), campaign=campaign)
    value = [subscriber_id, newsletter_id] + ([campaign] if campaign else [])
    with mock.patch("time.time", return_value=MOMENT):
        url, _ = links.unsubscribe(subscriber_id)
        preferences = links.preferences(subscriber_id)
        django_s = signing.dumps(value, salt=tokens.UNSUBSCRIBE_SALT)
        django_preferences = signing.dumps(subscriber_id, salt=tokens.PREFERENCES_SALT)
    assert url.endswith(f"/{django_s}/")
    assert preferences.endswith(f"/{django_preferences}/")
    assert tokens.read_unsubscribe_link(django_s) == (subscriber_id, newsletter_id, campaign)
    assert tokens.read_preferences_token(django_preferences) == subscriber_id


@given(value=json_values, salt=st.sampled_from([tokens.UNSUBSCRIBE_SALT, "another purpose"]))
def test_the_keyed_signer_writes_any_value_as_django_does(value, salt):
    """Ids, plain strings and lists of them take the signer's own JSON; anything else
    (escapes, floats, bools, None) Django's, and either way the token is Django's."""
    with mock.patch("time.time", return_value=MOMENT):
        ours = tokens.KeyedSigner(salt).sign_object(value)
        django_s = signing.dumps(value, salt=salt)
    assert ours == django_s
    assert signing.loads(ours, salt=salt) == value


def test_unsubscribe_tokens_compressed_by_older_mail_still_read():
    """Unsubscribe tokens were once signed with ``compress=True`` (which shortened only a
    campaign of one repeated character): links in that mail keep working."""
    value = [42, 7, "a" * 40]
    old = signing.dumps(value, salt=tokens.UNSUBSCRIBE_SALT, compress=True)
    assert old.startswith(".")  # it was compressed
    assert tokens.read_unsubscribe_link(old) == (42, 7, "a" * 40)


def test_tokens_signed_before_a_key_change_still_read_and_forged_ones_do_not(settings):
    links = tokens.SubscriberLinks(SimpleNamespace(pk=7), campaign="issue-3")
    url, _ = links.unsubscribe(42)
    token = url.rstrip("/").rsplit("/", 1)[1]
    preferences = links.preferences(42).rstrip("/").rsplit("/", 1)[1]
    with override_settings(SECRET_KEY="a new key " * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert tokens.read_unsubscribe_link(token) == (42, 7, "issue-3")
        assert tokens.read_preferences_token(preferences) == 42
    with override_settings(SECRET_KEY="a new key " * 5, SECRET_KEY_FALLBACKS=[]):
        for forged in (
            lambda: tokens.read_unsubscribe_link(token),
            lambda: tokens.read_preferences_token(preferences),
        ):
            try:
                forged()
            except tokens.InvalidToken:
                continue
            raise AssertionError("a token signed with a key no longer held was read")


def test_the_mailto_form_is_made_only_with_an_inbound_route(settings):
    settings.UNSUBSCRIBE_INBOUND = False
    url, mailto = tokens.SubscriberLinks(SimpleNamespace(pk=7)).unsubscribe(42)
    assert mailto == "" and tokens.list_unsubscribe(url, mailto) == f"<{url}>"
    settings.UNSUBSCRIBE_INBOUND = True
    url, mailto = tokens.SubscriberLinks(SimpleNamespace(pk=7)).unsubscribe(42)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert mailto == tokens.unsubscribe_mailto_for(token)
    assert tokens.list_unsubscribe(url, mailto) == f"<{url}>, <{mailto}>"
