"""Mail for the whole site: the development backend (one .eml file per message, so any mail
client opens them) and the meaning of a failed send, shared by every kind of mail."""

import random
import smtplib
import uuid
from dataclasses import dataclass
from pathlib import Path

from anymail.exceptions import AnymailAPIError
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


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
