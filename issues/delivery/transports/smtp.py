"""Raw SMTP over Django's SMTP backend's connection: the message's bytes, substituted."""

import smtplib

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from ..outcomes import Outcome, Recipient, Status
from .base import OverDjangoBackend, Values


class RawSmtp(OverDjangoBackend[SmtpBackend]):
    """The message's bytes, substituted, written straight to the SMTP connection."""

    connection: smtplib.SMTP

    def open(self) -> None:
        self.backend.open()
        if self.backend.connection is None:  # open() raises instead; said for the types
            raise smtplib.SMTPServerDisconnected("the SMTP backend opened no connection")
        self.connection = self.backend.connection

    def send_one(self, recipient: Recipient, values: Values) -> Outcome:
        message = self.message
        smtp_send(
            self.connection, message.envelope_from, values[message.to], message.as_smtp_data(values)
        )
        return Outcome(recipient.delivery_id, Status.SENT)  # our own Message-ID


def smtp_send(connection: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """One SMTP transaction for clean addresses and dot-stuffed CRLF ``data``, raising
    smtplib's errors.

    ``sendmail`` parses both addresses again for every message and waits for each command's
    reply; here MAIL, RCPT and DATA go out in one write when the server offers PIPELINING
    (RFC 2920), the body is declared 8BITMIME when it may be, and a refusal resets the
    transaction so the connection serves the next recipient.
    """
    connection.ehlo_or_helo_if_needed()
    body = " BODY=8BITMIME" if connection.has_extn("8bitmime") else ""
    commands = [f"MAIL FROM:<{sender}>{body}\r\n", f"RCPT TO:<{recipient}>\r\n", "DATA\r\n"]
    replies: list[tuple[int, bytes]] = []
    if connection.has_extn("pipelining"):
        connection.send("".join(commands))
        replies = [connection.getreply() for _ in commands]
    else:
        for command in commands:
            connection.send(command)
            replies.append(connection.getreply())
            if replies[-1][0] >= 400:
                break
    mail, rcpt, go_ahead = (replies + [(503, b"not sent")] * 3)[:3]
    if mail[0] != 250 or rcpt[0] not in (250, 251) or go_ahead[0] != 354:
        if go_ahead[0] == 354:  # a server that accepted DATA anyway: end it empty, then reset
            connection.send(b".\r\n")
            connection.getreply()
        connection.rset()
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(*mail, sender)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        raise smtplib.SMTPDataError(*go_ahead)
    connection.send(data_with_crlf(data) + b".\r\n")
    code, reply = connection.getreply()
    if code != 250:
        connection.rset()
        raise smtplib.SMTPDataError(code, reply)


def data_with_crlf(data: bytes) -> bytes:
    return data if data.endswith(b"\r\n") else data + b"\r\n"
