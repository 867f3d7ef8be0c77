"""The two signed parts of a tracked URL: ``/c/<link>/<reader>``.

- The link part, ``<issue>.<position>.<signature>``, is signed once per render: it names a
  row of the issue's link table, never a URL, so nothing in a request can choose where the
  redirect goes.
- The reader part, ``<delivery>.<signature>``, is substituted per recipient like the
  unsubscribe URL. Delivery ``0`` is the reader who asked for no tracking: the link works,
  nothing is recorded.

A quiz vote's link, ``/q/<issue>.<delivery>.<signature>.<quiz>.<headline>/``, carries a
third kind, the voter part (the first three), substituted per recipient too, but always
naming the delivery: a vote is the reader's own act, counted whether or not clicks are.

All are HMACs under the issue's own random link key (``IssueSalt.link_key``), so a reader
part of one issue never verifies beside a link of another, and rotating ``SECRET_KEY``
cannot break links already sitting in inboxes. The link key is kept for good and is not the
salt of the readers' pseudonyms, which is deleted once the counts are final
(``pseudonyms``): links keep working after that. (Issues sent before the two were apart
keep their old key: the hash of their first salt, ``migrations/0017``.) Numbers are base
36 and signatures 12 bytes of HMAC-SHA256 in URL-safe base64: short URLs, 96 bits no one
can guess.
"""

import base64
import functools
import hashlib
import hmac

from ..models import IssueSalt

NO_TRACKING = 0  # the delivery number of a reader who asked for no tracking
SIGNATURE_BYTES = 12
SIGNATURE_CHARS = 16


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def number(text: str) -> int | None:
    """A base-36 number of at most 12 digits, or None: no int() of anything a visitor sends."""
    if not text or len(text) > 12 or not text.isalnum() or not text.isascii():
        return None
    return int(text, 36)


def signature(key: bytes, message: str) -> str:
    mac = keyed(key).copy()
    mac.update(message.encode())
    return base64.urlsafe_b64encode(mac.digest()[:SIGNATURE_BYTES]).decode()


@functools.lru_cache(maxsize=64)
def keyed(key: bytes) -> "hmac.HMAC":
    """HMAC-SHA256 keyed once per issue's key and copied for each signature: the sender
    signs two parts for every reader, and keying anew cost as much as signing."""
    return hmac.new(key, digestmod=hashlib.sha256)


def link_token(key: bytes, issue_id: int, position: int) -> str:
    body = f"{base36(issue_id)}.{base36(position)}"
    return f"{body}.{signature(key, 'link:' + body)}"


def reader_token(key: bytes, delivery_id: int) -> str:
    body = base36(delivery_id)
    return f"{body}.{signature(key, 'reader:' + body)}"


def unpack_link(token: str) -> tuple[int, int, str, str] | None:
    """(issue id, position, signed body, signature), unverified; None if malformed."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[2]) != SIGNATURE_CHARS:
        return None
    issue_id, position = number(parts[0]), number(parts[1])
    if issue_id is None or position is None:
        return None
    return issue_id, position, f"{parts[0]}.{parts[1]}", parts[2]


def verify_link(key: bytes, body: str, sent: str) -> bool:
    return hmac.compare_digest(signature(key, "link:" + body), sent)


def verify_reader(key: bytes, token: str) -> int | None:
    """The delivery id the reader part names under this issue's key, or None if forged."""
    body, _, sent = token.partition(".")
    delivery_id = number(body)
    if delivery_id is None or len(sent) != SIGNATURE_CHARS:
        return None
    if not hmac.compare_digest(signature(key, "reader:" + body), sent):
        return None
    return delivery_id


def voter_token(key: bytes, issue_id: int, delivery_id: int) -> str:
    body = f"{base36(issue_id)}.{base36(delivery_id)}"
    return f"{body}.{signature(key, 'voter:' + body)}"


def small_number(text: str) -> int | None:
    """A quiz's or headline's number: one to three decimal digits."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None


def unpack_vote(token: str) -> tuple[int, int, str, str, int, int] | None:
    """(issue id, delivery id, signed body, signature, quiz, headline), unverified; None if
    malformed."""
    parts = token.split(".")
    if len(parts) != 5 or len(parts[2]) != SIGNATURE_CHARS:
        return None
    issue_id, delivery_id = number(parts[0]), number(parts[1])
    quiz, pick = small_number(parts[3]), small_number(parts[4])
    if issue_id is None or delivery_id is None or quiz is None or pick is None:
        return None
    return issue_id, delivery_id, f"{parts[0]}.{parts[1]}", parts[2], quiz, pick


def verify_voter(key: bytes, body: str, sent: str) -> bool:
    return hmac.compare_digest(signature(key, "voter:" + body), sent)


def key_of(keys: IssueSalt) -> bytes:
    """The signing key of an issue's links."""
    return bytes.fromhex(keys.link_key)


class ReaderTokens:
    """Each recipient's reader part, one HMAC apiece, for the sender's byte substitution."""

    def __init__(self, key: bytes | None):
        self.key = key

    @classmethod
    def of(cls, issue, markers, body: str) -> "ReaderTokens":
        """For a message whose body carries the reader marker (a test copy's does not)."""
        if markers.reader not in body:
            return cls(None)
        return cls(key_of(IssueSalt.objects.get(issue=issue)))

    def token(self, recipient) -> str:
        if self.key is None:
            return ""
        return reader_token(
            self.key, NO_TRACKING if recipient.no_tracking else recipient.delivery_id
        )


class VoterTokens:
    """Each recipient's voter part, for the sender's byte substitution; empty for an issue
    never frozen for sending (a test copy's, whose links are examples anyway)."""

    def __init__(self, issue_id: int, key: bytes | None):
        self.issue_id, self.key = issue_id, key

    @classmethod
    def of(cls, issue, markers, body: str) -> "VoterTokens":
        """For a message whose body has a quiz (only then is the key read)."""
        keys = IssueSalt.objects.filter(issue=issue).first() if markers.voter in body else None
        return cls(issue.pk, key_of(keys) if keys else None)

    def token(self, recipient) -> str:
        if self.key is None:
            return ""
        return voter_token(self.key, self.issue_id, recipient.delivery_id)
