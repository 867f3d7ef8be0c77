"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

import email
import email.policy
import threading
from dataclasses import dataclass
from functools import cached_property

from aiosmtpd.controller import Controller

from .processes import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    data: bytes

    @cached_property
    def message(self):
        """Parsed once: tests poll the sink for what arrived, and parsing a thousand messages
        on every poll took the CPU the worker needed to send them."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class RecordingHandler:
    """Accepts every message, unless ``replies`` maps a recipient to an SMTP reply."""

    def __init__(self):
        self.received = []
        self.replies = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.replies.get(address.lower())
        if callable(reply):
            reply = reply(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def replies(self):
        return self.handler.replies

    def settings(self):
        """Django settings that send through this sink."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }

    def env(self):
        """The same, as environment variables for a worker process."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
        }
