"""The Notifier contract (komtet_works.testing) run on the notifiers the library ships.

SmtpNotifier is not run here: its tests move to a real SMTP server (aiosmtpd) on another
branch, and a server written for this test would prove only itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pendulum
import pytest

from komtet_works.adapters import InMemoryNotifier, MaildirNotifier, ManualClock, SystemClock
from komtet_works.testing import NotifierContract

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
