"""Mail that arrives through the ESP's inbound webhook (anymail's ``inbound`` signal): the
``mailto:`` form of ``List-Unsubscribe``, mounted only with ``UNSUBSCRIBE_INBOUND``."""

import logging

from anymail.signals import AnymailInboundEvent

from .services import unsubscribe_by_mail

logger = logging.getLogger(__name__)


def handle_inbound(sender: object, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    message = event.message
    if message is None:
        return
    recipients = [str(address.addr_spec) for address in message.to + message.cc]
    left = unsubscribe_by_mail(recipients, message.subject or "")
    if left is not None:
        logger.info("Subscriber %s unsubscribed by mail through %s.", left.pk, esp_name)
