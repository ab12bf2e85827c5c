"""Messages to customers as e-mail (RFC 5322): into a maildir-like directory, or by SMTP.

Both carry the message's stable id in ``Message-ID``, so a receiver drops a message the
relay sent twice.  The maildir notifier goes further: the file is named for the id, so a
second delivery replaces the first instead of adding a copy.  Customers are addressed as
``<customer id>@<recipient domain>``: the host's mail system maps that to the customer's
mailbox, and no e-mail address passes through the library.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

from komtet_works.domain.errors import NotificationFailed
from komtet_works.ports import Clock, Message, MessageKind, Notifier

SUBJECTS: Final = {
    MessageKind.QUOTE_ISSUED: "Your quote for the works",
    MessageKind.PAYMENT_RECEIVED: "Payment received",
    MessageKind.COMPLETION_DATE: "When the works will be done",
    MessageKind.WORKS_STARTING: "The works are starting",
    MessageKind.WORKS_COMPLETED: "The works are complete",
    MessageKind.REFUNDED: "Your money is refunded",
    MessageKind.CLAIM_DECIDED: "Your claim is decided",
    MessageKind.WITHDRAWN: "Your order is withdrawn",
}
#: File names longer than this are replaced by a digest (file systems allow 255 bytes).
_LONGEST_NAME: Final = 200


def encoded(text: str) -> str:
    """`text` as letters, digits, ``-``, ``_`` and ``%XX`` escapes: fit for an address."""
    return quote(text, safe="-_").replace(".", "%2E").replace("~", "%7E")


def compose(
    message: Message, *, sent_at: datetime, sender: str, recipient_domain: str
) -> EmailMessage:
    """`message` as an RFC 5322 e-mail sent at `sent_at`; Message-ID is its stable id."""
    mail = EmailMessage()
    mail["Message-ID"] = f"<{encoded(message.id)}@{recipient_domain}>"
    mail["Date"] = format_datetime(sent_at)
    mail["From"] = sender
    mail["To"] = f"{encoded(message.customer_id)}@{recipient_domain}"
    mail["Subject"] = SUBJECTS[message.kind]
    mail.set_content(message.body)
    return mail


def file_name(message_id: str) -> str:
    """The maildir file name of `message_id`: the same id, the same file."""
    name = encoded(message_id)
    if len(name) > _LONGEST_NAME:
        name = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{name}.eml"


class MaildirNotifier(Notifier):
    """Writes each message as an ``.eml`` file into `directory`'s ``new/`` folder.

    Like a maildir delivery, the file is written in ``tmp/`` and renamed into ``new/``,
    so a reader never sees half a message.  A message already delivered (in ``new/``, or
    moved by a reader to ``cur/``) is not delivered again.
    """

    def __init__(
        self,
        directory: str | Path,
        clock: Clock,
        *,
        sender: str = "works@komtet.invalid",
        recipient_domain: str = "customers.invalid",
    ) -> None:
        self.directory = Path(directory)
        self._clock = clock
        self._sender = sender
        self._recipient_domain = recipient_domain

    def send(self, message: Message) -> datetime:
        sent_at = self._clock.now()
        mail = compose(
            message, sent_at=sent_at, sender=self._sender, recipient_domain=self._recipient_domain
        )
        name = file_name(message.id)
        try:
            for folder in ("tmp", "new", "cur"):
                (self.directory / folder).mkdir(parents=True, exist_ok=True)
            if any((self.directory / "cur").glob(f"{name}*")):
                return sent_at
            partial = self.directory / "tmp" / name
            partial.write_bytes(bytes(mail))
            with partial.open("rb") as written:
                os.fsync(written.fileno())
            partial.replace(self.directory / "new" / name)
        except OSError as error:
            raise NotificationFailed(f"could not write message {message.id!r}: {error}") from None
        return sent_at

    def delivered(self) -> list[Path]:
        """The files of the messages delivered so far, by name."""
        return sorted(
            path
            for folder in ("new", "cur")
            if (self.directory / folder).is_dir()
            for path in (self.directory / folder).iterdir()
        )


class SmtpNotifier(Notifier):
    """Sends each message to an SMTP server (``smtplib``); the send time is when it accepted."""

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        *,
        sender: str = "works@komtet.invalid",
        recipient_domain: str = "customers.invalid",
        timeout: float = 30,
    ) -> None:
        self.host = host
        self.port = port
        self._clock = clock
        self._sender = sender
        self._recipient_domain = recipient_domain
        self._timeout = timeout

    def send(self, message: Message) -> datetime:
        mail = compose(
            message,
            sent_at=self._clock.now(),
            sender=self._sender,
            recipient_domain=self._recipient_domain,
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                smtp.send_message(mail)
        except OSError as error:  # smtplib.SMTPException is an OSError
            raise NotificationFailed(f"could not send message {message.id!r}: {error}") from None
        return self._clock.now()
