"""The mail notifiers: RFC 5322 files in a maildir-like directory, and SMTP to a local sink."""

from __future__ import annotations

import email
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Final

import attrs
import pendulum
import pytest

from komtet_works import NotificationFailed
from komtet_works.adapters import (
    MaildirNotifier,
    ManualClock,
    SmtpNotifier,
    SqliteWorkOrders,
)
from komtet_works.adapters.mail import file_name
from komtet_works.ports import Message, MessageKind
from komtet_works.relay import relay
from komtet_works.testing.orders import requested

NOW: Final = pendulum.datetime(2026, 3, 2, 12, 40, tz="Europe/Moscow")
QUOTE: Final = Message("o-1:2:quote_issued", "o-1", "c-1", MessageKind.QUOTE_ISSUED, "1400.00 RUB")


def _read(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture(name="maildir")
def fixture_maildir(tmp_path: Path) -> MaildirNotifier:
    return MaildirNotifier(tmp_path / "mail", ManualClock(NOW))


@pytest.mark.rule("L7", "D-CLOCK")
def test_a_message_becomes_one_rfc_5322_file_sent_at_the_providers_time(
    maildir: MaildirNotifier,
) -> None:
    """One .eml in new/: Message-ID from the stable id, Date the clock's, the body as sent."""
    assert NOW == maildir.send(QUOTE)
    assert [maildir.directory / "new" / "o-1%3A2%3Aquote_issued.eml"] == maildir.delivered()
    mail = _read(maildir.delivered()[0])
    assert {
        "Message-ID": "<o-1%3A2%3Aquote_issued@customers.invalid>",
        "To": "c-1@customers.invalid",
        "From": "works@komtet.invalid",
        "Subject": "Your quote for the works",
    } == {key: str(mail[key]) for key in ("Message-ID", "To", "From", "Subject")}
    assert NOW == parsedate_to_datetime(str(mail["Date"]))
    assert ["1400.00 RUB"] == mail.get_content().splitlines()


def test_a_message_sent_twice_is_one_file(maildir: MaildirNotifier) -> None:
    """The relay's resend after a crash replaces the file: no duplicate for the customer."""
    maildir.send(QUOTE)
    maildir.send(QUOTE)
    assert 1 == len(maildir.delivered())
    assert [] == list((maildir.directory / "tmp").iterdir())


def test_a_message_a_reader_has_taken_is_not_delivered_again(maildir: MaildirNotifier) -> None:
    """Moved to cur/ with the reader's flags, a message resent stays read and single."""
    maildir.send(QUOTE)
    new = maildir.directory / "new" / file_name(QUOTE.id)
    new.rename(maildir.directory / "cur" / f"{new.name}:2,S")
    maildir.send(QUOTE)
    assert [maildir.directory / "cur" / f"{new.name}:2,S"] == maildir.delivered()


def test_ids_with_odd_characters_stay_one_file_each(maildir: MaildirNotifier) -> None:
    """Slashes, dots, spaces, unicode and a very long id each give one file in new/."""
    ids = ["a/b", "../..", "中文 and spaces", "x" * 1000, "a.b", "a%2Eb"]
    for message_id in ids:
        maildir.send(attrs.evolve(QUOTE, id=message_id))
    assert len(ids) == len(maildir.delivered())
    assert {maildir.directory / "new"} == {p.parent for p in maildir.delivered()}


def test_a_directory_that_cannot_be_written_is_notification_failed(tmp_path: Path) -> None:
    """The mail directory is a file: notification_failed, not an OSError."""
    blocked = tmp_path / "mail"
    blocked.write_text("not a directory", encoding="utf-8")
    with pytest.raises(NotificationFailed):
        MaildirNotifier(blocked, ManualClock(NOW)).send(QUOTE)


def test_the_relay_delivers_the_outbox_once_even_after_a_crash(
    tmp_path: Path, maildir: MaildirNotifier
) -> None:
    """A message sent before a crash (never marked sent) is sent again into the same file."""
    order = requested("o-1", customer_id="c-1")
    with SqliteWorkOrders(tmp_path / "works.sqlite", migrate=True) as store:
        store.save(order, expected_version=0, messages=[QUOTE, attrs.evolve(QUOTE, id="o-1:b")])
        maildir.send(store.pending()[0])  # the crash: sent, not marked
        assert 2 == relay(store, maildir)
        assert ([], 2) == (list(store.pending()), len(maildir.delivered()))


# --- SMTP, to a sink on the loopback interface --------------------------------------------


@attrs.define
class Received:
    sender: str
    recipients: list[str]
    data: bytes


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough of an SMTP server to accept mail, or refuse every recipient."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, refuse_recipients: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.refuse_recipients = refuse_recipients
        self.received: list[Received] = []


class _SmtpSession(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode("ascii"))

    def handle(self) -> None:
        assert isinstance(self.server, SmtpSink)
        sink = self.server
        mail = Received("", [], b"")
        self._reply("220 sink ready")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            argument = line.decode("utf-8").strip()[5:].partition(":")[2]
            if verb in {b"EHLO", b"HELO", b"RSET", b"NOOP"}:
                self._reply("250 sink")
            elif verb == b"MAIL":
                mail = Received(argument, [], b"")
                self._reply("250 ok")
            elif verb == b"RCPT":
                if sink.refuse_recipients:
                    self._reply("550 no such mailbox")
                else:
                    mail.recipients.append(argument)
                    self._reply("250 ok")
            elif verb == b"DATA":
                self._reply("354 go on")
                lines = iter(self.rfile.readline, b".\r\n")
                data = b"".join(chunk[1:] if chunk.startswith(b"..") else chunk for chunk in lines)
                sink.received.append(attrs.evolve(mail, data=data))
                self._reply("250 queued")
            elif verb == b"QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not here")


@contextmanager
def _serving(sink: SmtpSink) -> Iterator[SmtpSink]:
    """`sink` serving on 127.0.0.1 in a thread, shut down afterwards."""
    thread = threading.Thread(target=sink.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join()


@pytest.fixture(name="sink")
def fixture_sink() -> Iterator[SmtpSink]:
    with _serving(SmtpSink()) as sink:
        yield sink


@pytest.fixture(name="refusing_sink")
def fixture_refusing_sink() -> Iterator[SmtpSink]:
    with _serving(SmtpSink(refuse_recipients=True)) as sink:
        yield sink


def _smtp(sink: SmtpSink) -> SmtpNotifier:
    host, port = sink.server_address[:2]
    return SmtpNotifier(str(host), int(port), ManualClock(NOW), timeout=10)


@pytest.mark.rule("L7")
def test_smtp_delivers_the_message_with_its_stable_id(sink: SmtpSink) -> None:
    """The sink gets one mail for c-1 whose Message-ID is the message's stable id."""
    assert NOW == _smtp(sink).send(QUOTE)
    assert [("<works@komtet.invalid>", ["<c-1@customers.invalid>"])] == [
        (m.sender, m.recipients) for m in sink.received
    ]
    mail = email.message_from_bytes(sink.received[0].data, policy=default)
    assert "<o-1%3A2%3Aquote_issued@customers.invalid>" == str(mail["Message-ID"])
    assert ["1400.00 RUB"] == mail.get_content().splitlines()


def test_a_refused_recipient_is_notification_failed(refusing_sink: SmtpSink) -> None:
    """The server refuses the customer's address: notification_failed, nothing delivered."""
    with pytest.raises(NotificationFailed):
        _smtp(refusing_sink).send(QUOTE)
    assert [] == refusing_sink.received


def test_smtp_to_a_closed_port_is_notification_failed() -> None:
    """Nobody listening: notification_failed, so the relay keeps the message pending."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotificationFailed):
        SmtpNotifier("127.0.0.1", port, ManualClock(NOW), timeout=5).send(QUOTE)
