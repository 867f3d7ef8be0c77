"""Any Django mail backend (anymail ESPs, the demo's .eml files): one message at a time,
built by Django's mail API, over the backend's one open connection."""

from collections.abc import Callable

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from ..message import IssueMessage
from ..outcomes import Batch, ConnectionFailed, Outcome, Recipient, Status, is_connection_lost


def send(
    message: IssueMessage, backend: BaseEmailBackend, batch: Batch, pace: Callable[[], None]
) -> None:
    for recipient in batch.recipients:
        pace()
        try:
            batch.record(send_one(message, backend, recipient, batch.token))
        except Exception as error:
            batch.record_error(recipient, error, recipient.email)
            if is_connection_lost(error):
                raise ConnectionFailed(batch.outcomes[-1].error, permanent=False) from error


def send_one(
    message: IssueMessage, backend: BaseEmailBackend, recipient: Recipient, token: str
) -> Outcome:
    """Send one message; a SENT outcome without a message id means our own (see ``mark``)."""
    values = message.values(recipient, message.message_id(recipient, token))
    email = message.as_django_message(recipient, values)
    backend.send_messages([email])
    return esp_outcome(email, recipient)


def esp_outcome(email: EmailMessage, recipient: Recipient) -> Outcome:
    """What an anymail ESP said of this recipient: rejected, or accepted with its own id."""
    status = getattr(email, "anymail_status", None)
    result = None
    if status is not None:
        result = status.recipients.get(recipient.email.lower()) or status.recipients.get(
            recipient.email
        )
    if result is not None and result.status in {"rejected", "invalid"}:
        return Outcome(recipient.delivery_id, Status.FAILED, f"ESP: {result.status}")
    message_id = str(result.message_id) if result is not None and result.message_id else ""
    return Outcome(recipient.delivery_id, Status.SENT, message_id=message_id)
