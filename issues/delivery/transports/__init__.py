"""How a batch reaches the mail server: one connection per batch, one of three transports.

- ``smtp``: Django's SMTP backend, with the message's bytes substituted and written raw
  (MAIL/RCPT/DATA pipelined when the server offers it);
- ``django_mail``: any other backend (anymail ESPs, the demo's .eml files), one message at a
  time built by Django's mail API, over the backend's one connection;
- ``esp_merge``: an anymail ESP with ``SEND_ESP_MERGE_FIELD``: the whole batch in one API call.

Each is ``send(message, backend, batch, pace)``: it calls ``pace()`` before each recipient
(the global rate and the lease's heartbeat), records one outcome per recipient it tried in
``batch``, and raises ``ConnectionFailed`` when the channel itself fails.
"""

import logging
from collections.abc import Callable
from types import ModuleType

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from superfast.mail import classify_send_error

from ..message import IssueMessage
from ..outcomes import Batch, ConnectionFailed
from . import django_mail, esp_merge, smtp

log = logging.getLogger(__name__)


def send_batch(message: IssueMessage, batch: Batch, pace: Callable[[], None]) -> None:
    """Send every recipient of the batch over one connection, recording each outcome."""
    backend = get_connection()
    try:
        backend.open()
    except Exception as error:
        meaning = classify_send_error(error)
        raise ConnectionFailed(
            f"Could not connect to the mail server: {meaning.reason}", meaning.permanent
        ) from error
    transport: ModuleType
    if settings.SEND_ESP_MERGE_FIELD and type(backend).__module__.startswith("anymail."):
        transport = esp_merge
    elif message.fast and isinstance(backend, SmtpBackend):
        transport = smtp
    else:
        transport = django_mail
    try:
        transport.send(message, backend, batch, pace)
    finally:
        try:
            backend.close()
        except Exception:  # a broken connection may fail to say goodbye; nothing is lost
            log.debug("closing the mail connection failed", exc_info=True)
