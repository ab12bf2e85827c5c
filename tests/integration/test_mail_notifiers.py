"""The mail notifiers: RFC 5322 files in a maildir-like directory, and SMTP to aiosmtpd."""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final

import attrs
import pendulum
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import ClaimWindowMeasure, Customer, NotificationFailed
from komtet_works.adapters import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    MaildirNotifier,
    ManualClock,
    SmtpNotifier,
    SqliteWorkOrders,
)
from komtet_works.adapters.mail import MailSettings, SmtpSecurity, compose, file_name
from komtet_works.adapters.notices import Notice, NoticeRenderer, one_line
from komtet_works.domain.money import Money
from komtet_works.ports import Message, QuoteIssuedFacts, WorksCompletedFacts
from komtet_works.relay import relay
from komtet_works.testing.orders import requested
from komtet_works.use_cases import WorkOrderService

NOW: Final = pendulum.datetime(2026, 3, 2, 12, 40, tz="Europe/Moscow")
COMPLETED: Final = Message(
    "o-1:5:works_completed",
    "o-1",
    "c-1",
    WorksCompletedFacts(NOW, Decimal(72), ClaimWindowMeasure.ELAPSED),
)
WINDOW_RU: Final = "3 дня с момента отправки этого уведомления"
WINDOW_EN: Final = "3 days of this notice"
RUSSIAN: Final = NoticeRenderer()
#: Every header line of a mail must fit RFC 5322's hard limit (998 + CRLF); ours fit 78.
LINE_LIMIT: Final = 78


def _parsed(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(mail: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML alternative of `mail`."""
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


@pytest.fixture(name="maildir")
def fixture_maildir(tmp_path: Path) -> MaildirNotifier:
    return MaildirNotifier(tmp_path / "mail", ManualClock(NOW))


@pytest.mark.rule("L7", "D-CLOCK", "N3")
def test_a_message_becomes_one_rfc_5322_file_sent_at_the_providers_time(
    maildir: MaildirNotifier,
) -> None:
    """One .eml in new/: Message-ID from the stable id, Date the clock's, Russian words."""
    assert NOW == maildir.send(COMPLETED)
    assert [maildir.directory / "new" / "o-1%3A5%3Aworks_completed.eml"] == maildir.delivered()
    mail = _parsed(maildir.delivered()[0].read_bytes())
    assert {
        "Message-ID": "<o-1%3A5%3Aworks_completed@customers.invalid>",
        "To": "c-1@customers.invalid",
        "From": "works@komtet.invalid",
        "Subject": f"Работы выполнены: претензии принимаются {WINDOW_RU}",
    } == {key: str(mail[key]) for key in ("Message-ID", "To", "From", "Subject")}
    assert NOW == parsedate_to_datetime(str(mail["Date"]))
    assert "multipart/alternative" == mail.get_content_type()
    text, html = _bodies(mail)
    assert f"срок подачи — {WINDOW_RU}" in text
    assert "<strong>3 дня</strong>" in html


def test_a_message_sent_twice_is_one_file(maildir: MaildirNotifier) -> None:
    """The relay's resend after a crash replaces the file: no duplicate for the customer."""
    maildir.send(COMPLETED)
    maildir.send(COMPLETED)
    assert 1 == len(maildir.delivered())
    assert [] == list((maildir.directory / "tmp").iterdir())


def test_a_message_a_reader_has_taken_is_not_delivered_again(maildir: MaildirNotifier) -> None:
    """Moved to cur/ with the reader's flags, a message resent stays read and single."""
    maildir.send(COMPLETED)
    new = maildir.directory / "new" / file_name(COMPLETED.id)
    new.rename(maildir.directory / "cur" / f"{new.name}:2,S")
    maildir.send(COMPLETED)
    assert [maildir.directory / "cur" / f"{new.name}:2,S"] == maildir.delivered()


def test_ids_with_odd_characters_stay_one_file_each(maildir: MaildirNotifier) -> None:
    """Slashes, dots, spaces, unicode and a very long id each give one file in new/."""
    ids = ["a/b", "../..", "中文 and spaces", "x" * 1000, "a.b", "a%2Eb"]
    for message_id in ids:
        maildir.send(attrs.evolve(COMPLETED, id=message_id))
    assert len(ids) == len(maildir.delivered())
    assert {maildir.directory / "new"} == {p.parent for p in maildir.delivered()}


def test_a_directory_that_cannot_be_written_is_notification_failed(tmp_path: Path) -> None:
    """The mail directory is a file: notification_failed, not an OSError."""
    blocked = tmp_path / "mail"
    blocked.write_text("not a directory", encoding="utf-8")
    with pytest.raises(NotificationFailed):
        MaildirNotifier(blocked, ManualClock(NOW)).send(COMPLETED)


@pytest.mark.rule("N3")
def test_a_template_that_fails_is_notification_failed(tmp_path: Path) -> None:
    """A host template that breaks on the facts: notification_failed, nothing written."""
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "works_completed.txt").write_text(
        "{% block subject %}{{ no_such_fact }}{% endblock %}", encoding="utf-8"
    )
    settings = MailSettings(renderer=NoticeRenderer(templates=tmp_path))
    maildir = MaildirNotifier(tmp_path / "mail", ManualClock(NOW), settings)
    with pytest.raises(NotificationFailed, match="UndefinedError"):
        maildir.send(COMPLETED)
    assert [] == maildir.delivered()


def test_the_relay_delivers_the_outbox_once_even_after_a_crash(
    tmp_path: Path, maildir: MaildirNotifier
) -> None:
    """A message sent before a crash (never marked sent) is sent again into the same file."""
    order = requested("o-1", customer_id="c-1")
    second = attrs.evolve(COMPLETED, id="o-1:b")
    with SqliteWorkOrders(tmp_path / "works.sqlite", migrate=True) as store:
        store.save(order, expected_version=0, messages=[COMPLETED, second])
        maildir.send(store.pending()[0])  # the crash: sent, not marked
        assert 2 == relay(store, maildir)
        assert ([], 2) == (list(store.pending()), len(maildir.delivered()))


@given(st.text(min_size=1, max_size=1200), st.text(max_size=300))
@pytest.mark.rule("N3")
def test_no_header_line_passes_the_limit_whatever_the_id_and_the_words(
    message_id: str, words: str
) -> None:
    """Any id (1,000 characters included), any words in the subject: header lines <= 78."""
    subject = one_line(f"{RUSSIAN.render(COMPLETED).subject} {words}")
    mail = compose(
        attrs.evolve(COMPLETED, id=message_id),
        Notice(subject, "text", "<p>html</p>"),
        sent_at=NOW,
        sender="works@komtet.invalid",
        recipient_domain="customers.invalid",
    )
    head = bytes(mail).split(b"\n\n", 1)[0]
    assert [] == [line for line in head.split(b"\n") if len(line) > LINE_LIMIT]


@pytest.mark.rule("N3")
def test_a_long_id_gives_a_stable_hashed_message_id() -> None:
    """A 1,000-character id: the same short Message-ID every time, another for another id."""
    long = attrs.evolve(COMPLETED, id="x" * 1000)
    other = attrs.evolve(COMPLETED, id="x" * 999 + "y")

    def message_id(message: Message) -> str:
        notice = RUSSIAN.render(message)
        sent = compose(
            message, notice, sent_at=NOW, sender="a@b.invalid", recipient_domain="c.invalid"
        )
        return str(sent["Message-ID"])

    assert message_id(long) == message_id(long)
    assert message_id(long) != message_id(other)
    assert len(message_id(long)) < 60


# --- SMTP, to aiosmtpd on the loopback interface -------------------------------------------


@attrs.define
class Inbox:
    """An aiosmtpd handler: keeps what arrives, or refuses, drops or stalls as told."""

    received: list[Envelope] = attrs.Factory(list)
    refuse: bool = False
    drop: bool = False
    stall: float = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.drop:
            assert server.transport is not None
            server.transport.close()
        await asyncio.sleep(self.stall)
        self.received.append(envelope)
        return "250 OK queued"


#: The one login the test server accepts.
LOGIN: Final = ("works", "s3cret")


class Passwords:
    """aiosmtpd's authenticator: one user, one password."""

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == tuple(
            part.encode() for part in LOGIN
        )
        return AuthResult(success=good, handled=False)  # not handled: aiosmtpd replies 535


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="certificate", scope="module")
def fixture_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by openssl for this test run."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(  # noqa: S603 - a fixed command line
        [  # noqa: S607 - openssl from PATH, as CI has it
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def _server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile=certificate[1], keyfile=certificate[0])
    return context


def _client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certificate[1])


@pytest.fixture(name="serve")
def fixture_serve() -> Iterator[Any]:
    """Start aiosmtpd on 127.0.0.1 with a handler and options; stopped after the test."""
    started: list[Controller] = []

    def serve(inbox: Inbox, **options: Any) -> int:
        port = _free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return port

    yield serve
    for controller in started:
        controller.stop()


def _smtp(port: int, *, renderer: NoticeRenderer | None = None, **options: Any) -> SmtpNotifier:
    options.setdefault("security", SmtpSecurity.NONE)
    settings = MailSettings(renderer=renderer)
    return SmtpNotifier("127.0.0.1", port, ManualClock(NOW), settings, timeout=5, **options)


@pytest.mark.rule("L7", "N3")
@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("ru", f"Работы выполнены: претензии принимаются {WINDOW_RU}", "3 дня"),
        ("en", f"The works are complete: claims within {WINDOW_EN}", "3 days"),
    ],
)
def test_smtp_delivers_the_notice_with_its_headers_and_both_bodies(
    serve: Any, language: str, subject: str, line: str
) -> None:
    """aiosmtpd gets one mail for c-1: stable Message-ID, RFC 2047 subject, text and HTML."""
    inbox = Inbox()
    notifier = _smtp(serve(inbox), renderer=NoticeRenderer(language=language))
    assert NOW == notifier.send(COMPLETED)
    [envelope] = inbox.received
    assert ("works@komtet.invalid", ["c-1@customers.invalid"]) == (
        envelope.mail_from,
        envelope.rcpt_tos,
    )
    assert isinstance(envelope.original_content, bytes)
    raw = envelope.original_content
    assert raw.isascii()  # headers in RFC 2047, bodies quoted-printable: 7-bit clean
    mail = _parsed(raw)
    assert ("<o-1%3A5%3Aworks_completed@customers.invalid>", subject) == (
        str(mail["Message-ID"]),
        str(mail["Subject"]),
    )
    assert NOW == parsedate_to_datetime(str(mail["Date"]))
    text, html = _bodies(mail)
    assert (True, True) == (line in text, line in html)


@pytest.mark.rule("N3")
@pytest.mark.parametrize(
    ("password", "delivered"), [(LOGIN[1], 1), (LOGIN[1] + "-wrong", 0)], ids=["right", "wrong"]
)
def test_smtp_protects_the_connection_then_logs_in(
    serve: Any, certificate: tuple[Path, Path], password: str, delivered: int
) -> None:
    """STARTTLS, then AUTH, as the server requires: the right password delivers the mail, a
    wrong one is notification_failed and delivers nothing."""
    inbox = Inbox()
    port = serve(
        inbox,
        tls_context=_server_tls(certificate),
        require_starttls=True,
        authenticator=Passwords(),
        auth_required=True,
    )
    notifier = _smtp(
        port,
        security=SmtpSecurity.STARTTLS,
        tls=_client_tls(certificate),
        username=LOGIN[0],
        password=password,
    )
    refused = pytest.raises(NotificationFailed, match="SMTPAuthenticationError")
    with refused if delivered == 0 else contextlib.nullcontext():
        notifier.send(COMPLETED)
    assert delivered == len(inbox.received)


@pytest.mark.rule("N3")
def test_starttls_required_but_not_offered_is_notification_failed(serve: Any) -> None:
    """A server without STARTTLS: refused, never sent in clear text instead."""
    inbox = Inbox()
    with pytest.raises(NotificationFailed, match="STARTTLS"):
        _smtp(serve(inbox), security=SmtpSecurity.STARTTLS).send(COMPLETED)
    assert [] == inbox.received


@pytest.mark.rule("N3")
def test_smtp_over_ssl(certificate: tuple[Path, Path]) -> None:
    """Implicit TLS (SMTPS): the mail arrives over a connection encrypted from the start."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=_server_tls(certificate)
    )
    controller.start()
    try:
        notifier = _smtp(port, security=SmtpSecurity.SSL, tls=_client_tls(certificate))
        assert NOW == notifier.send(COMPLETED)
    finally:
        controller.stop()
    assert 1 == len(inbox.received)


@pytest.mark.rule("N3")
def test_an_untrusted_certificate_is_notification_failed(
    serve: Any, certificate: tuple[Path, Path]
) -> None:
    """The system's trust store does not know the test certificate: refused, not sent."""
    inbox = Inbox()
    port = serve(inbox, tls_context=_server_tls(certificate))
    with pytest.raises(NotificationFailed, match="SSLCertVerificationError"):
        _smtp(port, security=SmtpSecurity.STARTTLS).send(COMPLETED)
    assert [] == inbox.received


@pytest.mark.parametrize(
    ("inbox", "error"),
    [
        (Inbox(refuse=True), "SMTPRecipientsRefused"),
        (Inbox(drop=True), "SMTPServerDisconnected: Connection unexpectedly closed$"),
        (Inbox(stall=3), "timed out"),
    ],
    ids=["refused", "dropped", "slow"],
)
@pytest.mark.rule("N3")
def test_a_refused_dropped_or_slow_server_is_notification_failed(
    serve: Any, inbox: Inbox, error: str
) -> None:
    """The recipient refused, the connection cut, no answer in time: notification_failed."""
    notifier = SmtpNotifier(
        "127.0.0.1", serve(inbox), ManualClock(NOW), security=SmtpSecurity.NONE, timeout=0.5
    )
    with pytest.raises(NotificationFailed, match=error):
        notifier.send(COMPLETED)


@pytest.mark.rule("N3")
def test_smtp_to_a_closed_port_is_notification_failed() -> None:
    """Nobody listening: notification_failed, so the relay keeps the message pending."""
    with pytest.raises(NotificationFailed, match="ConnectionRefusedError"):
        _smtp(_free_port()).send(COMPLETED)


@pytest.mark.rule("L7", "N3")
def test_through_the_service_a_refused_notice_stays_in_the_outbox(
    tmp_path: Path, serve: Any
) -> None:
    """The server refuses the quote: the estimate is committed, the quote waits in the outbox
    and reaches the customer once the server accepts again."""
    inbox = Inbox(refuse=True)
    clock = ManualClock(NOW)
    customer = Customer("c-1", sites=frozenset({"shop.example"}))
    with SqliteWorkOrders(tmp_path / "works.sqlite", migrate=True) as store:
        service = WorkOrderService(
            orders=store,
            customers=InMemoryCustomerDirectory([customer]),
            billing=InMemoryBilling(),
            backups=InMemoryBackups(),
            notifier=_smtp(serve(inbox)),
            clock=clock,
            calendar=InMemoryBusinessCalendar(),
        )
        service.request(order_id="o-1", customer_id="c-1", target="shop.example", problem="500")
        service.estimate("o-1", staff_id="s-1", hours="1.5")
        [kept] = store.pending()
        assert isinstance(kept.facts, QuoteIssuedFacts)
        assert Money.of("1500.00") == kept.facts.quote.total
        assert [] == inbox.received
        inbox.refuse = False
        assert 1 == relay(store, service.notifier)
        assert ([], 1) == (list(store.pending()), len(inbox.received))
