"""DKIM signatures (RFC 6376) for every message the site sends, made per message.

Issue messages bypass Django's mail backends (``issues.delivery`` writes their bytes to the
SMTP connection), and every reader's body differs (their own links), so there is no single
place a signing backend could sit and nothing to sign once: each message is signed as it
leaves, by ``signature(data)``, whichever way it leaves. Mail built with Django's API
(confirmation, welcome, test copies) is a ``SignedEmail``, signed when serialized.

dkimpy parses and canonicalizes the message and hashes its headers; the one RSA operation
goes through ``cryptography`` (OpenSSL): dkimpy's own pure-Python RSA spends about 8 ms of
CPU per 2048-bit signature, more than the rest of a message's sending together, where
OpenSSL needs well under one. Canonicalization is relaxed for headers (relays refold them)
and simple for the body: our bodies are 8bit text we wrote, and simple hashes them without a
pass of regular expressions. ``tests/delivery/test_deliverability.py`` verifies with dkimpy.
"""

import base64
import hashlib
import time
from dataclasses import dataclass
from functools import cache, lru_cache
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


@cache
def dkimpy() -> tuple[Any, Any]:
    """dkimpy and its canonicalization policy, imported at the first signature: dkimpy
    (with the dnspython it loads) takes most of a second to import, which only a process
    that signs should pay."""
    import dkim
    from dkim.canonicalization import CanonicalizationPolicy

    return dkim, CanonicalizationPolicy.from_c_value(CANONICALIZATION)


def signature(message: bytes) -> bytes:
    """The DKIM-Signature header lines (CRLF) to put in front of ``message`` (CRLF lines,
    as sent), one per configured key; b"" when signing is not configured."""
    keys = signing_keys()
    if not keys:
        return b""
    end = message.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("a message to sign needs CRLF line ends and a body")
    dkim, policy = dkimpy()
    headers, _ = dkim.rfc822_parse(message[: end + 4])
    canonical_headers = policy.canonicalize_headers(headers)
    body_hash = base64.b64encode(
        hashlib.sha256(policy.canonicalize_body(message[end + 4 :])).digest()
    )
    now = str(int(time.time())).encode()
    return b"".join(signed_header(key, canonical_headers, body_hash, now) for key in keys)


def signed_header(key: SigningKey, canonical_headers: list, body_hash: bytes, now: bytes) -> bytes:
    """One DKIM-Signature field: its tags hashed with an empty ``b=``, then the signature."""
    unsigned = b"v=1; a=%s; c=%s; d=%s; s=%s; t=%s;\r\n h=%s;\r\n bh=%s;\r\n b=" % (
        key.algorithm,
        CANONICALIZATION,
        key.domain.encode(),
        key.selector.encode(),
        now,
        b":".join(SIGNED_HEADERS),
        body_hash,
    )
    hasher = hashlib.sha256()
    field = (b"DKIM-Signature", b" " + unsigned)
    dkim, policy = dkimpy()
    dkim.hash_headers(hasher, policy, canonical_headers, SIGNED_HEADERS, field, None)
    value = base64.b64encode(key.sign(hasher.digest()))
    folded = b"\r\n ".join(value[i : i + 72] for i in range(0, len(value), 72))
    return b"DKIM-Signature: " + unsigned + folded + b"\r\n"


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
