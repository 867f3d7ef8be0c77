"""Signed, unguessable links that act for one subscriber without a login.

Tokens are ``django.core.signing`` values: the payload is readable but any change breaks
the HMAC (keyed on ``SECRET_KEY`` and a salt per purpose), so a token for one purpose or
one person never works for another. Unsubscribe and preferences links never expire (they
sit in old mail); confirmation links expire after ``CONFIRMATION_MAX_AGE``.

An unsubscribe link may carry a *campaign*: a short reference the sender chose for the
mail it sits in (an issue names itself there). The audience stores it with the
unsubscribe as it came, without knowing what it names, so the sender can count who left
because of which mail. It is inside the signed value: nobody can move it to another mail.
"""

import re
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, NamedTuple
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db.models import Model
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes

UNSUBSCRIBE_SALT = "subscribers.unsubscribe"
PREFERENCES_SALT = "subscribers.preferences"
CONFIRM_SALT = "subscribers.confirm"
CONFIRMATION_MAX_AGE = timedelta(days=7)
CAMPAIGN_MAX_LENGTH = 40
CAMPAIGN = re.compile(rf"[A-Za-z0-9._:-]{{1,{CAMPAIGN_MAX_LENGTH}}}")


class InvalidToken(Exception):
    """A token that was forged, altered, expired or is otherwise unusable."""


class TokenExpired(InvalidToken):
    """A genuine token past its age limit."""


class UnsubscribeLink(NamedTuple):
    """What a genuine unsubscribe token says; ``campaign`` is "" for links without one."""

    subscriber_id: int
    newsletter_id: int
    campaign: str


class KeyedSigner(signing.TimestampSigner):
    """Django's ``TimestampSigner`` made cheap enough to sign two tokens for every message
    of a send: its HMAC key derived once (Django derives it, and reads the settings, again
    for every token), the second it stamps encoded once a second, and the ids and short
    strings tokens carry written as JSON without the ``json`` module (a third of a token's
    cost). It writes exactly what ``sign_object`` writes; checking a token
    (``SECRET_KEY_FALLBACKS`` included) passes the key and is Django's own."""

    def __init__(self, salt: str) -> None:
        super().__init__(salt=salt)
        self.keyed = salted_hmac(self.salt + "signer", b"", self.key, algorithm=self.algorithm)
        self.sep_bytes = self.sep.encode()
        self.second, self.stamp = -1, b""

    def stamp_now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.second, self.stamp = second, signing.b62_encode(second).encode()
        return self.stamp

    def timestamp(self) -> str:
        return self.stamp_now().decode()

    def signature(self, value: str | bytes, key: str | bytes | None = None) -> str:
        if key is not None:
            return super().signature(value, key)
        return self.signed(force_bytes(value)).decode()

    def signed(self, value: bytes) -> bytes:
        """The signature of ``value`` under the key derived once, base64 as Django writes it."""
        mac = self.keyed.copy()
        mac.update(value)
        return signing.b64_encode(mac.digest())

    def sign_object(
        self, obj: object, serializer: type = signing.JSONSerializer, compress: bool = False
    ) -> str:
        data = compact_json(obj) if serializer is signing.JSONSerializer else None
        if data is None or compress:
            return super().sign_object(obj, serializer, compress)
        # ``sign(b64_encode(data))``, written out: Django's steps cost twice as much.
        value = b"%s%s%s" % (signing.b64_encode(data), self.sep_bytes, self.stamp_now())
        return (b"%s%s%s" % (value, self.sep_bytes, self.signed(value))).decode()


# What ``json.dumps`` writes unescaped: printable ASCII but the quote and the backslash.
PLAIN_JSON_STRING = re.compile(r"[ !#-\[\]-~]*")


def compact_json(value: object) -> bytes | None:
    """``json.dumps(value, separators=(",", ":"))`` for an int, a plain string or a list of
    them (what tokens carry); None for anything else (bools, floats, other strings, ...),
    left to ``json``."""
    if type(value) is int:
        return b"%d" % value
    if type(value) is str:
        return b'"%s"' % value.encode() if PLAIN_JSON_STRING.fullmatch(value) else None
    if type(value) is list:
        items = []
        for item in value:
            written = compact_json(item)
            if written is None:
                return None
            items.append(written)
        return b"[%s]" % b",".join(items)
    return None


def unsubscribe_token(
    subscriber_id: int,
    newsletter_id: int,
    campaign: str = "",
    signer: signing.TimestampSigner | None = None,
) -> str:
    value: list[int | str] = [subscriber_id, newsletter_id]
    if campaign:
        if not CAMPAIGN.fullmatch(campaign):
            raise ValueError(f"campaign {campaign!r} is not a short reference")
        value.append(campaign)
    signer = signer or signing.TimestampSigner(salt=UNSUBSCRIBE_SALT)
    return signer.sign_object(value)


def preferences_token(subscriber_id: int, signer: signing.TimestampSigner | None = None) -> str:
    return (signer or signing.TimestampSigner(salt=PREFERENCES_SALT)).sign_object(subscriber_id)


def confirmation_token(subscriber_id: int, newsletter_ids: Iterable[int], nonce: str) -> str:
    return signing.dumps(
        {"s": subscriber_id, "n": sorted(newsletter_ids), "c": nonce},
        salt=CONFIRM_SALT,
        compress=True,
    )


def read_unsubscribe_link(token: str) -> UnsubscribeLink:
    """The whole of a genuine unsubscribe token, its campaign included (links in mail sent
    before campaigns existed have none)."""
    value = _load(token, UNSUBSCRIBE_SALT)
    if not (isinstance(value, list) and len(value) in (2, 3) and all(map(_is_id, value[:2]))):
        raise InvalidToken("malformed unsubscribe token")
    campaign = value[2] if len(value) == 3 else ""
    if len(value) == 3 and not (isinstance(campaign, str) and CAMPAIGN.fullmatch(campaign)):
        raise InvalidToken("malformed unsubscribe token")
    return UnsubscribeLink(value[0], value[1], campaign)


def read_preferences_token(token: str) -> int:
    value = _load(token, PREFERENCES_SALT)
    if not _is_id(value):
        raise InvalidToken("malformed preferences token")
    return value


def read_confirmation_token(token: str) -> tuple[int, list[int], str]:
    """``(subscriber_id, newsletter_ids, nonce)``; raises InvalidToken once it has expired."""
    value = _load(token, CONFIRM_SALT, max_age=CONFIRMATION_MAX_AGE)
    try:
        subscriber_id, newsletter_ids, nonce = value["s"], value["n"], value["c"]
    except (TypeError, KeyError):
        raise InvalidToken("malformed confirmation token") from None
    if not (_is_id(subscriber_id) and all(_is_id(n) for n in newsletter_ids)):
        raise InvalidToken("malformed confirmation token")
    return subscriber_id, newsletter_ids, str(nonce)


def site_link(view: str, token: str, around: tuple[str, str] | None = None) -> str:
    """The absolute URL of ``view`` for ``token``: put between ``around`` (the URL's parts
    either side of a token, taken once by ``SubscriberLinks``) when given, else resolved."""
    if around:
        return token.join(around)
    return settings.SITE_URL + reverse(view, args=[token])


def unsubscribe_url(subscriber_id: int, newsletter_id: int, campaign: str = "") -> str:
    """Absolute URL of the one-click unsubscribe endpoint (RFC 8058) for this pair."""
    token = unsubscribe_token(subscriber_id, newsletter_id, campaign)
    return site_link("subscribers:unsubscribe", token)


def unsubscribe_mailto(subscriber_id: int, newsletter_id: int) -> str:
    """The ``mailto:`` form of ``List-Unsubscribe``: our address, the token as subject."""
    return unsubscribe_mailto_for(unsubscribe_token(subscriber_id, newsletter_id))


def preferences_url(subscriber_id: int) -> str:
    return site_link("subscribers:preferences", preferences_token(subscriber_id))


def confirmation_url(subscriber_id: int, newsletter_ids: Iterable[int], nonce: str) -> str:
    token = confirmation_token(subscriber_id, newsletter_ids, nonce)
    return site_link("subscribers:confirm", token)


def _load(token: str, salt: str, max_age: timedelta | None = None) -> Any:
    """The signed value, of whatever JSON shape it was signed with: callers check it."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired("expired") from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise InvalidToken("bad signature") from None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def unsubscribe_mailto_for(token: str, address: str = "") -> str:
    """``address``: ``UNSUBSCRIBE_EMAIL``'s own address, when the caller parsed it already."""
    address = address or parseaddr(settings.UNSUBSCRIBE_EMAIL)[1]
    return f"mailto:{address}?subject={quote(f'unsubscribe {token}')}"


def list_unsubscribe(url: str, mailto: str) -> str:
    """The ``List-Unsubscribe`` header's value (RFC 2369): the https link, then the mailto
    form only when an inbound route processes it (``UNSUBSCRIBE_INBOUND``): a mailbox
    provider that mails an address nobody reads leaves the reader subscribed."""
    if not (settings.UNSUBSCRIBE_INBOUND and mailto):
        return f"<{url}>"
    return f"<{url}>, <{mailto}>"


class SubscriberLinks:
    """Each recipient's unsubscribe (https, and mailto with an inbound route) and preferences
    links, for the many messages of one newsletter's issue; ``campaign`` goes into every
    unsubscribe token.

    Resolving the URL patterns for every message costs more than signing the tokens, so the
    URL around a token is taken once, and used only after checking it rebuilds the URL that
    ``unsubscribe_url``/``preferences_url`` give. Each token is signed once per message, by
    a signer whose key is derived once (``KeyedSigner``).
    """

    def __init__(self, newsletter: Model, campaign: str = "") -> None:
        self.newsletter_id = newsletter.pk
        self.campaign = campaign
        self.unsubscribe_signer = KeyedSigner(UNSUBSCRIBE_SALT)
        self.preferences_signer = KeyedSigner(PREFERENCES_SALT)
        self.unsubscribe_around = self.around_token(
            lambda: unsubscribe_token(0, newsletter.pk, campaign),
            lambda: unsubscribe_url(0, newsletter.pk, campaign),
        )
        self.preferences_around = self.around_token(
            lambda: preferences_token(0), lambda: preferences_url(0)
        )
        # Only an inbound route makes the mailto form worth writing (``list_unsubscribe``).
        self.inbound = settings.UNSUBSCRIBE_INBOUND
        # Parsed once: parsing the address cost about as much as signing the token.
        self.mailto_address = parseaddr(settings.UNSUBSCRIBE_EMAIL)[1]

    @staticmethod
    def around_token(
        make_token: Callable[[], str], make_url: Callable[[], str]
    ) -> tuple[str, str] | None:
        """(before, after) the token in the URL, or None when the URL is not that shape."""
        for _ in range(2):  # a token made across a second boundary differs: try again
            token, url = make_token(), make_url()
            if url.count(token) == 1:
                before, after = url.split(token)
                return before, after
        return None

    def unsubscribe(self, subscriber_id: int) -> tuple[str, str]:
        """``(https URL, mailto URL)`` of one subscriber's unsubscribe link; the mailto URL
        is "" without an inbound route, which ``list_unsubscribe`` then leaves out."""
        token = unsubscribe_token(
            subscriber_id, self.newsletter_id, self.campaign, self.unsubscribe_signer
        )
        url = site_link("subscribers:unsubscribe", token, self.unsubscribe_around)
        mailto = unsubscribe_mailto_for(token, self.mailto_address) if self.inbound else ""
        return url, mailto

    def preferences(self, subscriber_id: int) -> str:
        token = preferences_token(subscriber_id, self.preferences_signer)
        return site_link("subscribers:preferences", token, self.preferences_around)
