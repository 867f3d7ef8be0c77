"""Mail for the whole site: the development backend (one .eml file per message, so any mail
client opens them) and the meaning of a failed send, shared by every kind of mail."""

import ipaddress
import random
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from anymail.exceptions import AnymailAPIError
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from .dkim import SignedEmail


class EmlFileBackend(BaseEmailBackend):
    """Write each message to ``EMAIL_FILE_PATH/<time>-<id>.eml`` instead of sending it."""

    def __init__(self, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
            (self.folder / name).write_bytes(message.message().as_bytes())
        return len(email_messages)


# --- Sending domains: where a message says it comes from ------------------------------------


def domain_of(address: str) -> str:
    """The domain of an address or a "Name <address>" (lower case, brackets of an address
    literal removed); "" when there is none."""
    return parseaddr(address)[1].rpartition("@")[2].strip("[]").lower()


def unusable_domain(domain: str) -> str | None:
    """Why mail from ``domain`` cannot pass a mailbox provider's checks (SPF, DKIM and DMARC
    all need a domain in the DNS), or None when it is a real domain name."""
    if not domain:
        return "has no domain"
    if domain == "localhost" or domain.endswith(".localhost"):
        return f"is {domain}, which exists only on this machine"
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        return f"is the IP address {domain}, not a domain"
    if "." not in domain:
        return f"is {domain}, a bare host name, not a domain"
    return None


def bounce_address(from_email: str) -> str:
    """The envelope sender (Return-Path) of mail from ``from_email``: the same address, or
    its local part at ``BOUNCE_DOMAIN`` when one is set (bounces go where they are read)."""
    address = parseaddr(from_email)[1] or from_email
    if not settings.BOUNCE_DOMAIN:
        return address
    return f"{address.rpartition('@')[0]}@{settings.BOUNCE_DOMAIN}"


def outgoing_email(
    subject: str,
    body: str,
    *,
    sender: str,
    to: list[str],
    headers: dict[str, str] | None = None,
    reply_to: list[str] | None = None,
) -> SignedEmail:
    """A message from ``sender``, DKIM-signed when sent, its envelope sender the bounce
    address. Django's SMTP backend (and anymail, as ``envelope_sender``) takes the envelope
    from ``from_email`` when a ``From`` header is given apart."""
    envelope = bounce_address(sender)
    headers = dict(headers or {})
    # Django's defaults: the machine's host name after the @, and -0000 ("zone unknown").
    headers.setdefault("Message-ID", make_msgid(domain=domain_of(sender) or None))
    headers.setdefault("Date", format_datetime(datetime.now(UTC)))
    from_email = sender
    if envelope != parseaddr(sender)[1]:
        headers["From"], from_email = sender, envelope
    return SignedEmail(subject, body, from_email, to, headers=headers, reply_to=reply_to)


# --- Send errors: one classification and one backoff for every mail the site sends ----------
# Issue deliveries (issues.delivery) and mail to one subscriber (subscribers) both use these,
# so a 4xx means "later" and a 5xx "never" in the same way everywhere. They live here because
# ``subscribers`` must not import ``issues``.


@dataclass(frozen=True)
class SendError:
    """What a failed send means: ``permanent`` (never retry) and a reason an editor can read."""

    permanent: bool
    reason: str


def classify_send_error(error: Exception, email: str = "") -> SendError:
    """SMTP 5xx and ESP 4xx (but 429) are permanent; SMTP 4xx, ESP 429/5xx and lost
    connections are worth another try. Anything else is a fault of the message itself (a
    header it cannot carry, a bug), which no retry cures: permanent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = error.recipients
        code, raw = refusals.get(email) or next(iter(refusals.values()))
        if not email:  # one send to several addresses: permanent only if every one refused
            code = min(code for code, _ in refusals.values())
        return SendError(code >= 500, f"{code} {_text(raw)}")
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return SendError(code >= 500, f"{code} {_text(error.smtp_error)}")
    if isinstance(error, AnymailAPIError) or getattr(error, "status_code", None):
        status = getattr(error, "status_code", None)
        if status is None:
            return SendError(False, f"{type(error).__name__}: {_described(error)}")
        permanent = 400 <= status < 500 and status != 429
        return SendError(permanent, f"HTTP {status}: {_described(error)}")
    # Connection refused, reset or timed out; SMTPServerDisconnected is an OSError too.
    return SendError(not isinstance(error, OSError), f"{type(error).__name__}: {_described(error)}")


def is_transient(error: Exception) -> bool:
    return not classify_send_error(error).permanent


def retry_delay(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: ``SEND_RETRY_BASE_SECONDS`` doubled per attempt
    made, ±50% jitter (so retries from many senders do not arrive together), at most
    ``SEND_RETRY_MAX_SECONDS``."""
    delay = settings.SEND_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0)
    return min(delay, settings.SEND_RETRY_MAX_SECONDS) * random.uniform(0.5, 1.5)


def _text(raw) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _described(error: Exception) -> str:
    try:
        return str(error)
    except Exception:  # anymail's errors describe their HTTP response, which may be absent
        return str(error.args[0]) if error.args else ""
