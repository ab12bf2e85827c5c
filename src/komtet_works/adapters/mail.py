"""Messages to customers as e-mail (RFC 5322): into a maildir-like directory, or by SMTP.

Both carry the message's stable id in ``Message-ID``, so a receiver drops a message the
relay sent twice.  The maildir notifier goes further: the file is named for the id, so a
second delivery replaces the first instead of adding a copy.  Customers are addressed as
``<customer id>@<recipient domain>``: the host's mail system maps that to the customer's
mailbox, and no e-mail address passes through the library.
"""

from __future__ import annotations

import enum
import hashlib
import os
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

import jinja2

from komtet_works.adapters.notices import Notice, NoticeRenderer
from komtet_works.domain.errors import NotificationFailed
from komtet_works.ports import Clock, Message, Notifier

#: The header that names the message's kind (`MessageKind`), in every mail.
KIND_HEADER: Final = "X-Komtet-Works-Kind"
#: File names longer than this are replaced by a digest (file systems allow 255 bytes).
_LONGEST_NAME: Final = 200
#: Message-ID local parts longer than this are replaced by a digest, so the header line
#: stays within RFC 5322's 78 characters with a domain of a usual length.
_LONGEST_ID: Final = 40


def encoded(text: str) -> str:
    """`text` as letters, digits, ``-``, ``_`` and ``%XX`` escapes: fit for an address."""
    return quote(text, safe="-_").replace(".", "%2E").replace("~", "%7E")


def token(message_id: str, *, longest: int) -> str:
    """`message_id` as an address-safe token of at most `longest` characters, stable.

    A long id becomes ``h.`` and a digest of it; an encoded id never holds a dot, so the
    two never collide.
    """
    name = encoded(message_id)
    if len(name) <= longest:
        return name
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"h.{digest[: longest - 2]}"


def compose(
    message: Message,
    notice: Notice,
    *,
    sent_at: datetime,
    sender: str,
    recipient_domain: str,
) -> EmailMessage:
    """`message`, worded as `notice`, as an RFC 5322 e-mail sent at `sent_at`: Message-ID
    from its stable id, a plain-text and an HTML alternative."""
    mail = EmailMessage()
    mail["Message-ID"] = f"<{token(message.id, longest=_LONGEST_ID)}@{recipient_domain}>"
    mail["Date"] = format_datetime(sent_at)
    mail["From"] = sender
    mail["To"] = recipient(message, recipient_domain)
    mail["Subject"] = notice.subject
    mail[KIND_HEADER] = message.kind.value  # for the provider's mail filters and archives
    mail.set_content(notice.text, cte="quoted-printable")
    mail.add_alternative(notice.html, subtype="html", cte="quoted-printable")
    return mail


def recipient(message: Message, recipient_domain: str) -> str:
    return f"{encoded(message.customer_id)}@{recipient_domain}"


def file_name(message_id: str) -> str:
    """The maildir file name of `message_id`: the same id, the same file."""
    return f"{token(message_id, longest=_LONGEST_NAME)}.eml"


class MailSettings:
    """What both notifiers put on every mail: the sender, the customers' domain, the words."""

    def __init__(
        self,
        *,
        sender: str = "works@komtet.invalid",
        recipient_domain: str = "customers.invalid",
        renderer: NoticeRenderer | None = None,
    ) -> None:
        self.sender = sender
        self.recipient_domain = recipient_domain
        self.renderer = renderer if renderer is not None else NoticeRenderer()

    def mail(self, message: Message, sent_at: datetime) -> EmailMessage:
        """`message` as the e-mail sent at `sent_at`; `NotificationFailed` if a template
        fails on its facts (the message stays in the outbox)."""
        try:
            notice = self.renderer.render(message)
        except jinja2.TemplateError as error:
            raise NotificationFailed(
                f"message {message.id!r} could not be worded: {type(error).__name__}"
            ) from None
        return compose(
            message,
            notice,
            sent_at=sent_at,
            sender=self.sender,
            recipient_domain=self.recipient_domain,
        )


class MaildirNotifier(Notifier):
    """Writes each message as an ``.eml`` file into `directory`'s ``new/`` folder.

    Like a maildir delivery, the file is written in ``tmp/`` and renamed into ``new/``,
    so a reader never sees half a message.  A message already delivered (in ``new/``, or
    moved by a reader to ``cur/``) is not delivered again.
    """

    def __init__(
        self, directory: str | Path, clock: Clock, settings: MailSettings | None = None
    ) -> None:
        self.directory = Path(directory)
        self._clock = clock
        self._settings = settings if settings is not None else MailSettings()

    def send(self, message: Message) -> datetime:
        sent_at = self._clock.now()
        mail = self._settings.mail(message, sent_at)
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


class SmtpSecurity(enum.Enum):
    """How the connection to the SMTP server is protected."""

    #: TLS from the first byte (SMTPS, usually port 465)
    SSL = "ssl"
    #: a plain connection upgraded by STARTTLS before anything is sent (usually port 587);
    #: a server that does not offer it is an error, never a fallback to plain text
    STARTTLS = "starttls"
    #: no encryption: for a relay on the same machine only
    NONE = "none"


class SmtpNotifier(Notifier):
    """Sends each message to an SMTP server (``smtplib``); the send time is when it accepted.

    `timeout` bounds the connection and every exchange with the server, in seconds;
    `tls` is the context that checks the server's certificate (the system's by default).
    `username` and `password` log in after the connection is protected.  Every failure,
    refused, dropped or timed out, is `NotificationFailed`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        settings: MailSettings | None = None,
        *,
        security: SmtpSecurity = SmtpSecurity.STARTTLS,
        tls: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self._clock = clock
        self._settings = settings if settings is not None else MailSettings()
        self._tls = tls if tls is not None else ssl.create_default_context()
        self._login = None if username is None else (username, password or "")
        self._timeout = timeout

    def send(self, message: Message) -> datetime:
        mail = self._settings.mail(message, self._clock.now())
        try:
            with self._connect() as smtp:
                if self.security is SmtpSecurity.STARTTLS:
                    smtp.starttls(context=self._tls)
                if self._login is not None:
                    smtp.login(*self._login)
                smtp.send_message(
                    mail,
                    from_addr=self._settings.sender,
                    to_addrs=[recipient(message, self._settings.recipient_domain)],
                )
        except (OSError, smtplib.SMTPException) as error:  # timeouts are OSErrors too
            raise NotificationFailed(
                f"could not send message {message.id!r}: {type(error).__name__}: {error}"
            ) from None
        return self._clock.now()

    def _connect(self) -> smtplib.SMTP:
        if self.security is SmtpSecurity.SSL:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._tls)
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout)
