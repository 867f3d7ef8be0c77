"""The whole batch as one ESP API call with per-recipient merge data and headers.

For ESPs whose anymail backend supports ``merge_data`` and ``merge_headers`` on inline
content; ``SEND_ESP_MERGE_FIELD`` is the ESP's merge-field syntax, such as ``%recipient.{}%``
(Mailgun) or ``{{{{{}}}}}`` (SparkPost). The ESP substitutes the values, so one request
carries the batch. The merge fields are named with the render's random key, like the markers
they replace, so content cannot name one either.
"""

from collections.abc import Callable

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from subscribers.tokens import list_unsubscribe

from ..message import IssueMessage
from ..outcomes import Batch
from .django_mail import esp_outcome


def merge_name(marker: str) -> str:
    return marker.strip("%").replace(".", "_").lower()


def send(
    message: IssueMessage, backend: BaseEmailBackend, batch: Batch, pace: Callable[[], None]
) -> None:
    field = settings.SEND_ESP_MERGE_FIELD
    markers = message.markers.per_recipient

    def with_fields(body: str) -> str:
        return message.fill(body, {m: field.format(merge_name(m)) for m in markers})

    merge_data: dict[str, dict[str, str]] = {}
    merge_headers: dict[str, dict[str, str]] = {}
    for recipient in batch.recipients:
        pace()
        values = message.values(recipient, message.message_id(recipient, batch.token))
        merge_data[recipient.email] = {merge_name(m): values[m] for m in markers}
        merge_headers[recipient.email] = {
            "List-Unsubscribe": list_unsubscribe(
                values[message.markers.unsubscribe_url], values[message.mailto]
            ),
        }
    email = AnymailMessage(
        message.subject,
        with_fields(message.text),
        message.from_email,
        [recipient.email for recipient in batch.recipients],
        headers=message.constant_headers,
        merge_data=merge_data,
        merge_headers=merge_headers,
        merge_metadata={r.email: {"delivery": str(r.delivery_id)} for r in batch.recipients},
    )
    email.attach_alternative(with_fields(message.html), "text/html")
    try:
        backend.send_messages([email])
    except Exception as error:
        for recipient in batch.recipients:
            batch.record_error(recipient, error)
        return
    for recipient in batch.recipients:
        batch.record(esp_outcome(email, recipient))
