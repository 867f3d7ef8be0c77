"""DKIM signatures (RFC 6376) for every message the site sends, made per message.

Issue messages bypass Django's mail backends (``issues.delivery`` writes their bytes to the
SMTP connection), and every reader's body differs (their own links), so there is no single
place a signing backend could sit and nothing to sign once: each message is signed as it
leaves, by ``signature(data)``, whichever way it leaves. Mail built with Django's API
(confirmation, welcome, test copies) is a ``SignedEmail``, signed when serialized.

Canonicalization is relaxed for headers (relays refold them) and simple for the body: our
bodies are 8bit text we wrote, and simple hashes them as they are, with no pass of regular
expressions. Both are a few lines here, over bytes we built: a message's dozen header fields
split at their line breaks, the body hashed straight from the message's buffer. The one RSA
operation goes through ``cryptography`` (OpenSSL). That operation is nearly all of what
signing costs (about 0.7 ms of CPU per RSA 2048 signature here, against some 0.06 ms for
the rest, where dkimpy's parsing and canonicalization took 0.17 ms and its own pure-Python
RSA 8 ms): docs/performance.md has the figures. dkimpy is the verifier in the tests, never
the signer: ``tests/test_dkim.py`` checks generated messages against it, and
``tests/delivery/test_deliverability.py`` every kind of message the site sends.
"""

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

CANONICALIZATION = b"relaxed/simple"
MIN_RSA_BITS = 2048
# What a reader sees, what RFC 8058 requires signed for one-click unsubscribe, and what says
# the message is bulk and automatic. A name listed once more than the message has it signs
# its absence (RFC 6376 5.4.2): nobody on the way can add a second From, nor a Reply-To or a
# Cc that we did not write.
SIGNED_HEADERS = (
    b"from",
    b"from",
    b"reply-to",
    b"subject",
    b"date",
    b"to",
    b"cc",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
    b"auto-submitted",
)
SIGNED_NAMES = frozenset(SIGNED_HEADERS)


@dataclass(frozen=True)
class SigningKey:
    domain: str
    selector: str
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    @property
    def algorithm(self) -> bytes:
        return (
            b"ed25519-sha256"
            if isinstance(self.key, ed25519.Ed25519PrivateKey)
            else (b"rsa-sha256")
        )

    def sign(self, digest: bytes) -> bytes:
        """RFC 6376 3.3 (RSA over the SHA-256 digest) and RFC 8463 (Ed25519 over it)."""
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(digest)
        return self.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


class KeyProblem(Exception):
    """The configured key cannot sign; the message says why."""


def read_key(path: str, kind: type) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise KeyProblem(f"{path} cannot be read ({error.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(f"{path} is not an unencrypted private key in PEM") from None
    if not isinstance(key, kind):
        raise KeyProblem(f"{path} is not an {kind.__name__.removesuffix('PrivateKey')} key")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
        raise KeyProblem(f"{path} is a {key.key_size}-bit key; use {MIN_RSA_BITS} bits")
    return key


@lru_cache(maxsize=4)
def load_keys(
    domain: str, selector: str, path: str, ed25519_selector: str, ed25519_path: str
) -> tuple[SigningKey, ...]:
    """The signing keys of these settings, read once per process."""
    if not (domain or selector or path):
        return ()
    if not (domain and selector and path):
        raise KeyProblem("DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE go together")
    keys = [SigningKey(domain, selector, read_key(path, rsa.RSAPrivateKey))]
    if ed25519_selector and ed25519_path:
        ed = read_key(ed25519_path, ed25519.Ed25519PrivateKey)
        keys.append(SigningKey(domain, ed25519_selector, ed))
    return tuple(keys)


def signing_keys() -> tuple[SigningKey, ...]:
    return load_keys(
        settings.DKIM_DOMAIN,
        settings.DKIM_SELECTOR,
        settings.DKIM_PRIVATE_KEY_FILE,
        settings.DKIM_ED25519_SELECTOR,
        settings.DKIM_ED25519_PRIVATE_KEY_FILE,
    )


def key_problem() -> str | None:
    """Why the configured DKIM settings cannot sign, or None (for the production checks)."""
    try:
        signing_keys()
    except KeyProblem as problem:
        return str(problem)
    return None


def signature(message: bytes) -> bytes:
    """The DKIM-Signature header lines (CRLF) to put in front of ``message`` (CRLF lines,
    as sent), one per configured key; b"" when signing is not configured."""
    keys = signing_keys()
    return sign(message, keys) if keys else b""


def sign(message: bytes, keys: Sequence[SigningKey]) -> bytes:
    """One DKIM-Signature field per key for ``message`` (CRLF lines, as sent): its headers
    canonicalized relaxed and its body simple (RFC 6376 3.4), each hashed once for all keys,
    then one signature per key (3.7)."""
    end = message.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("a message to sign needs CRLF line ends and a body")
    headers = signed_fields(message[:end])
    body_start, body_end = end + 4, len(message)
    while message.endswith(b"\r\n", body_start, body_end):  # empty lines at the end
        body_end -= 2  # do not count, and a body ends with one line break
    body_hash = hashlib.sha256(memoryview(message)[body_start:body_end])
    body_hash.update(b"\r\n")
    tags = b"c=%s; d=%%s; s=%%s; t=%d;\r\n h=%s;\r\n bh=%s;\r\n b=" % (
        CANONICALIZATION,
        int(time.time()),
        b":".join(SIGNED_HEADERS),
        base64.b64encode(body_hash.digest()),
    )
    fields = []
    for key in keys:
        value = b"v=1; a=%s; " % key.algorithm + tags % (key.domain.encode(), key.selector.encode())
        hasher = hashlib.sha256(headers)
        hasher.update(b"dkim-signature:" + relaxed(value))  # hashed without its line break
        signed = base64.b64encode(key.sign(hasher.digest()))
        folded = b"\r\n ".join(signed[i : i + 72] for i in range(0, len(signed), 72))
        fields.append(b"DKIM-Signature: " + value + folded + b"\r\n")
    return b"".join(fields)


# A line break that ends a header field (one followed by a space or tab folds it), and the
# runs of spaces and tabs that relaxed canonicalization makes one space.
FIELD_END = re.compile(rb"\r\n(?![ \t])")
BLANKS = re.compile(rb"[ \t]+")


def relaxed(value: bytes) -> bytes:
    """A field's value canonicalized relaxed (RFC 6376 3.4.2): unfolded, every run of blanks
    one space, none at either end."""
    return BLANKS.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")


def signed_fields(head: bytes) -> bytes:
    """The header fields that ``SIGNED_HEADERS`` names, canonicalized relaxed, in its order:
    each name takes the last of its fields not taken yet (RFC 6376 5.4.2), so a name listed
    more often than it occurs adds nothing, and a field added later changes the hash."""
    found: dict[bytes, list[bytes]] = {}
    for field in FIELD_END.split(head):
        name, colon, value = field.partition(b":")
        name = name.rstrip(b" \t").lower()
        if not colon or not name:
            raise ValueError(f"{field[:40]!r} is not a header field")
        if name in SIGNED_NAMES:
            found.setdefault(name, []).append(name + b":" + relaxed(value) + b"\r\n")
    return b"".join(found[name].pop() for name in SIGNED_HEADERS if found.get(name))


class SignedMime:
    """A Django MIME message whose bytes start with their DKIM signature."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        data = self.inner.as_bytes(unixfrom, linesep="\r\n")
        signed = signature(data) + data
        return signed if linesep == "\r\n" else signed.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(unixfrom, linesep).decode(errors="surrogateescape")


class SignedEmail(EmailMultiAlternatives):
    """A message built with Django's mail API, DKIM-signed as it is serialized (by the SMTP
    backend, or the development mailbox). An ESP's HTTP API takes the fields, not the bytes,
    and signs for its own domain: docs/delivery.md says which to choose."""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        return SignedMime(super().message(*args, **kwargs))
