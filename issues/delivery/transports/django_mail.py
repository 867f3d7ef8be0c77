"""Any Django mail backend (anymail ESPs, the demo's .eml files): one message at a time,
built by Django's mail API, over the backend's one open connection."""

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from ..outcomes import Outcome, Recipient, Status
from .base import OverDjangoBackend, Values


class DjangoMail(OverDjangoBackend[BaseEmailBackend]):
    def send_one(self, recipient: Recipient, values: Values) -> Outcome:
        """A SENT outcome without a message id means our own (see ``mark``)."""
        email = self.message.as_django_message(recipient, values)
        self.backend.send_messages([email])
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
