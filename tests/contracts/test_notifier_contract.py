"""The Notifier contract (komtet_works.testing) run on the notifiers the library ships.

SmtpNotifier sends to aiosmtpd, a real SMTP server, on the loopback interface.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import pendulum
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from komtet_works.adapters import (
    InMemoryNotifier,
    MaildirNotifier,
    ManualClock,
    SmtpNotifier,
    SystemClock,
)
from komtet_works.adapters.mail import MailSettings, SmtpSecurity
from komtet_works.adapters.notices import NoticeRenderer
from komtet_works.testing import NotifierContract
from komtet_works.testing.notifications import message

NOW: Final = pendulum.datetime(2026, 3, 2, 12, 40, tz="Europe/Moscow")


@pytest.mark.rule("L7")
class TestInMemoryNotifier(NotifierContract[InMemoryNotifier]):
    @pytest.fixture
    def notifier(self) -> InMemoryNotifier:
        return InMemoryNotifier(ManualClock(NOW))

    def unreachable(self, notifier: InMemoryNotifier) -> InMemoryNotifier:
        notifier.failing = True
        return notifier


@pytest.mark.rule("L7")
class TestMaildirNotifier(NotifierContract[MaildirNotifier]):
    @pytest.fixture
    def notifier(self, tmp_path: Path) -> MaildirNotifier:
        return MaildirNotifier(tmp_path / "mail", SystemClock())

    def unreachable(self, notifier: MaildirNotifier) -> MaildirNotifier:
        """A maildir whose directory is a file cannot be written to."""
        blocked = notifier.directory.with_name("blocked")
        blocked.write_text("not a directory", encoding="utf-8")
        return MaildirNotifier(blocked, SystemClock())


@pytest.mark.rule("L7", "N3")
class TestMaildirNotifierInEnglish(TestMaildirNotifier):
    """The same promises with settings of the host's: its sender, domain and language."""

    @pytest.fixture
    def notifier(self, tmp_path: Path) -> MaildirNotifier:
        settings = MailSettings(
            sender="works@host.example",
            recipient_domain="clients.host.example",
            renderer=NoticeRenderer(language="en"),
        )
        return MaildirNotifier(tmp_path / "mail", SystemClock(), settings)


@attrs.define
class Inbox:
    """An aiosmtpd handler that accepts and keeps every message."""

    received: list[Envelope] = attrs.Factory(list)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        return "250 OK queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.rule("L7")
class TestSmtpNotifier(NotifierContract[SmtpNotifier]):
    @pytest.fixture
    def inbox(self) -> Iterator[tuple[Inbox, int]]:
        """aiosmtpd on a free loopback port, stopped after the test."""
        inbox, port = Inbox(), _free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        yield inbox, port
        controller.stop()

    @pytest.fixture
    def notifier(self, inbox: tuple[Inbox, int]) -> SmtpNotifier:
        """A plain connection, as to a relay on the same machine."""
        return self.smtp(inbox[1])

    def unreachable(self, notifier: SmtpNotifier) -> SmtpNotifier:
        """Nothing listens on the port: the connection is refused."""
        return self.smtp(_free_port())

    @staticmethod
    def smtp(port: int, **options: Any) -> SmtpNotifier:
        return SmtpNotifier(
            "127.0.0.1", port, SystemClock(), security=SmtpSecurity.NONE, timeout=5, **options
        )


def test_a_send_the_smtp_contract_counts_is_one_envelope_at_the_server() -> None:
    """What the contract's sends mean over SMTP: each is one message the server accepted."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        TestSmtpNotifier.smtp(port).send(message())
    finally:
        controller.stop()
    assert ["cust-1@customers.invalid"] == [r for e in inbox.received for r in e.rcpt_tos]
