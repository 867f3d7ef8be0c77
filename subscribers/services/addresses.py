"""Email addresses: one spelling per mailbox, and an anonymous fingerprint of it."""

import functools
import hashlib
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..models import Subscriber

MAX_EMAIL_LENGTH = 254
# Django's own rule for the part before the @, compiled once (the validator's is lazy).
LOCAL_PART = re.compile(validate_email.user_regex.pattern, validate_email.user_regex.flags)
MAX_NAME_LENGTH = Subscriber._meta.get_field("name").max_length

# Providers that ignore dots in the local part: j.doe@ and jdoe@ are one mailbox there.
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}
# Alias domains delivering to the same mailboxes as another.
SAME_MAILBOXES = {"googlemail.com": "gmail.com"}


def normalize_email(raw: str) -> str:
    """A new address in its canonical form (``canonical_email``), or ValidationError with
    a message for people; also refused: address literals and hosts without a dot.

    Every way a new address comes in (the public form, the admin, imports) goes through
    here; finding one already stored (ESP events, erasure) uses ``canonical_email``.
    """
    refuse_address_literal((raw or "").strip().rpartition("@")[2])
    email = canonical_email(raw)
    refuse_dotless_host(email.rpartition("@")[2])
    return email


def canonical_email(raw: str) -> str:
    """The canonical form of an address, or ValidationError with a message for people.

    Trimmed; the domain lower-cased and, when international, turned into punycode so one
    mailbox has one spelling. The local part is left alone: some servers treat its case as
    significant, uniqueness is case-insensitive anyway. Django's validator decides; its
    domain rules run once per domain (an import of a million lines has a few thousand).
    """
    value = (raw or "").strip()
    local, at, domain = value.rpartition("@")
    if not (local and at and domain):
        raise ValidationError("Enter a valid email address, like name@example.org.")
    email = f"{local}@{checked_domain(domain)}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(f"An email address has at most {MAX_EMAIL_LENGTH} characters.")
    if not LOCAL_PART.match(local):
        raise ValidationError(validate_email.message, code=validate_email.code)
    return email


@functools.lru_cache(maxsize=10_000)
def checked_domain(domain: str) -> str:
    """The domain in its one spelling (lower case, punycode), if Django's rules accept it."""
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{domain!r} is not a valid domain name.") from None
    validate_email(f"postmaster@{ascii_domain}")
    return ascii_domain


# Django's validator lets these through, but no reader's mailbox lives there: an address
# literal (x@[127.0.0.1]) or a host without a dot (x@localhost) sends the confirmation to
# wherever the sending server reaches by that name (itself, a host of its own network).


def refuse_address_literal(domain: str) -> None:
    if domain.startswith("["):
        raise ValidationError(
            "An address literal like name@[127.0.0.1] is not accepted: "
            "give an address at a domain name, like name@example.org.",
            code="address_literal",
        )


def refuse_dotless_host(domain: str) -> None:
    if "." not in domain.strip("."):
        raise ValidationError(
            f"“{domain}” is not a full domain name: "
            "give an address at a domain name, like name@example.org.",
            code="dotless_domain",
        )


def mailbox_identity(email: str) -> str:
    """The mailbox an address reaches, for counting requests per person, never for sending.

    ``a+1@x`` and ``a+2@x`` (plus tags), and at Gmail ``j.doe@`` and ``jdoe@``, are one
    inbox: each variant must not get its own share of the per-address limit.
    """
    local, _, domain = email.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{SAME_MAILBOXES.get(domain, domain)}"


def email_hash(email: str) -> str:
    """An anonymous, stable fingerprint of an address (it is normalized first when valid)."""
    try:
        email = canonical_email(email)
    except ValidationError:
        email = (email or "").strip()
    return normalized_email_hash(email)


def normalized_email_hash(email: str) -> str:
    """``email_hash`` of an address already normalized (an import's million lines)."""
    return hashlib.sha256(f"superfast-erased:{email.lower()}".encode()).hexdigest()
