"""What the one send loop (``transports.send_batch``) asks of a way to the mail server.

As anymail's backends over one shared core and listmonk's messengers do, a transport is a
thin adapter: it opens its channel, hands over one recipient's message (or, where an ESP
takes a whole batch in one request, the batch), and closes. Everything else happens once,
in the loop, for all of them: the pace before each recipient, each recipient's values,
recording outcomes, and telling a refused recipient from a lost connection.
"""

from typing import Generic, Protocol, TypeVar, runtime_checkable

from django.core.mail.backends.base import BaseEmailBackend

from ..message import IssueMessage
from ..outcomes import Outcome, Recipient

# One recipient's value for each per-recipient marker (``IssueMessage.values``).
Values = dict[str, str]
Backend = TypeVar("Backend", bound=BaseEmailBackend)


class Transport(Protocol):
    def open(self) -> None:
        """Open the channel; raise the mail server's error when it cannot be reached."""

    def send_one(self, recipient: Recipient, values: Values) -> Outcome:
        """Hand over one recipient's message; raise the mail server's error when it refuses
        it (or when the connection is lost: the loop tells which)."""

    def close(self) -> None:
        """Say goodbye; a connection already broken may raise, and nothing is lost."""


@runtime_checkable
class BatchTransport(Transport, Protocol):
    """A transport whose ESP takes a whole batch, with each recipient's values, in one
    request: the loop hands the batch over once every recipient is paced."""

    def send_batch(self, messages: list[tuple[Recipient, Values]]) -> list[Outcome]:
        """One outcome per recipient; raise when the request fails (each recipient then
        gets that error). A transport that splits the batch into several requests answers
        for each of them itself, so the recipients of a request that went through keep
        their outcomes."""


class OverDjangoBackend(Generic[Backend]):
    """Open and close of a Django mail backend's one connection, which every transport
    here sends over."""

    def __init__(self, message: IssueMessage, backend: Backend) -> None:
        self.message, self.backend = message, backend

    def open(self) -> None:
        self.backend.open()

    def close(self) -> None:
        self.backend.close()
