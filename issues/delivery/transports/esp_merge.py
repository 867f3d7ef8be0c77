"""The whole batch as one ESP API call with per-recipient merge data and headers.

For ESPs whose anymail backend supports ``merge_data`` and ``merge_headers`` on inline
content; ``SEND_ESP_MERGE_FIELD`` is the ESP's merge-field syntax, such as ``%recipient.{}%``
(Mailgun) or ``{{{{{}}}}}`` (SparkPost). The ESP substitutes the values, so one request
carries the batch. The merge fields are named with the render's random key, like the markers
they replace, so content cannot name one either.
"""

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from subscribers.tokens import list_unsubscribe

from ..outcomes import Outcome, Recipient
from .base import OverDjangoBackend, Values
from .django_mail import esp_outcome


def merge_name(marker: str) -> str:
    return marker.strip("%").replace(".", "_").lower()


class EspMerge(OverDjangoBackend[BaseEmailBackend]):
    def send_one(self, recipient: Recipient, values: Values) -> Outcome:
        return self.send_batch([(recipient, values)])[0]

    def send_batch(self, messages: list[tuple[Recipient, Values]]) -> list[Outcome]:
        message, field = self.message, settings.SEND_ESP_MERGE_FIELD
        markers = message.markers.per_recipient

        def with_fields(body: str) -> str:
            return message.fill(body, {m: field.format(merge_name(m)) for m in markers})

        merge_data: dict[str, dict[str, str]] = {}
        merge_headers: dict[str, dict[str, str]] = {}
        for recipient, values in messages:
            merge_data[recipient.email] = {merge_name(m): values[m] for m in markers}
            merge_headers[recipient.email] = {
                "List-Unsubscribe": list_unsubscribe(
                    values[message.markers.unsubscribe_url], values[message.mailto]
                ),
            }
        recipients = [recipient for recipient, _ in messages]
        # The bounce address only when BOUNCE_DOMAIN asks for one: not every ESP's API
        # takes an envelope sender, and anymail refuses what the ESP cannot do.
        bounce = {"envelope_sender": message.envelope_from} if settings.BOUNCE_DOMAIN else {}
        email = AnymailMessage(
            message.subject,
            with_fields(message.text),
            message.from_email,
            [recipient.email for recipient in recipients],
            headers=message.constant_headers,
            merge_data=merge_data,
            merge_headers=merge_headers,
            merge_metadata={r.email: {"delivery": str(r.delivery_id)} for r in recipients},
            **bounce,
        )
        email.attach_alternative(with_fields(message.html), "text/html")
        self.backend.send_messages([email])
        return [esp_outcome(email, recipient) for recipient in recipients]
