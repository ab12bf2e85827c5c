"""The operator's command line with nothing configured: SQLite, the Russian production
calendar, Russian mail in ./outbox-mail; and with mail by SMTP, and its dead letters."""

from __future__ import annotations

import email
import json
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from komtet_works.entrypoints.cli import main

SITE = "shop.example"
#: New Year's Eve 2025, Moscow: 1 hour is paid at 18:30, half an hour before the office
#: closes; then the New Year holidays run to 11 January.
EVE = {
    "request": "2025-12-31T17:00:00+03:00",
    "estimate": "2025-12-31T17:30:00+03:00",
    "pay": "2025-12-31T18:30:00+03:00",
    "start": "2026-01-12T10:00:00+03:00",
    "complete": "2026-01-12T10:40:00+03:00",
}


@attrs.frozen
class Shell:
    """`komtet-works COMMAND ... --json` in a directory of its own, with every default."""

    capsys: pytest.CaptureFixture[str]

    def ok(self, *argv: str) -> Any:
        code = main([*argv, "--json"])
        out, err = self.capsys.readouterr()
        assert (0, "") == (code, err)
        return json.loads(out)


@pytest.fixture(name="shell")
def fixture_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Shell:
    """A shell in an empty directory holding the site of customer c-1; no setting given."""
    monkeypatch.chdir(tmp_path)
    for name in ("KOMTET_WORKS_DB", *(f"KOMTET_WORKS_SMTP_{n}" for n in ("HOST", "PORT"))):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "sites" / SITE).mkdir(parents=True)
    (tmp_path / "sites" / SITE / "index.html").write_text("<h1>shop</h1>", encoding="utf-8")
    shell = Shell(capsys)
    shell.ok("customer-add", "c-1", "--site", SITE)
    return shell


def _paid_on_new_years_eve(shell: Shell) -> dict[str, Any]:
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "checkout fails",
        "--now", EVE["request"],
    )  # fmt: skip
    quote = shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "1", "--now", EVE["estimate"])
    total = quote["current_quote"]["total"]
    shell.ok("pay", "o-1", "--payment", "p-1", "--amount", total, "--now", EVE["pay"])
    scheduled: dict[str, Any] = shell.ok("schedule", "o-1", "--staff", "s-1", "--now", EVE["pay"])
    return scheduled


def _mail(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.rule("D-BUSINESS-CALENDAR", "N2", "L7")
def test_with_its_defaults_the_cli_plans_by_the_russian_calendar_and_writes_russian_mail(
    shell: Shell, tmp_path: Path
) -> None:
    """1 hour paid on 31 December 2025 at 18:30 MSK is due on 12 January 2026 at 11:00; the
    completion notice in ./outbox-mail is Russian and gives the window from its sending; the
    order's claim deadline is the mail's send time plus 3 days, 10:40 MSK on 15 January."""
    scheduled = _paid_on_new_years_eve(shell)
    assert datetime.fromisoformat("2026-01-12T11:00:00+03:00") == datetime.fromisoformat(
        scheduled["works"]["due"]
    )
    shell.ok("start", "o-1", "--staff", "s-1", "--now", EVE["start"])
    done = shell.ok("complete", "o-1", "--staff", "s-1", "--now", EVE["complete"])
    assert (tmp_path / "komtet-works.sqlite").is_file()
    [completed] = [
        mail
        for mail in map(_mail, (tmp_path / "outbox-mail" / "new").iterdir())
        if mail["X-Komtet-Works-Kind"] == "works_completed"
    ]
    window = "3 дня с момента отправки этого уведомления"
    assert f"Работы выполнены: претензии принимаются {window}" == str(completed["Subject"])
    text = completed.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    assert window in str(text.get_content())
    deadline = datetime.fromisoformat(done["works"]["claim_deadline"])
    assert datetime.fromisoformat("2026-01-15T10:40:00+03:00") == deadline
    sent = parsedate_to_datetime(str(completed["Date"]))
    assert sent + timedelta(days=3) == deadline


@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_people_read_the_due_date_in_moscow_without_microseconds(
    shell: Shell, capsys: pytest.CaptureFixture[str]
) -> None:
    """The human output of show names the instants in Moscow time, to the second."""
    _paid_on_new_years_eve(shell)
    assert 0 == main(["show", "o-1"])
    out = capsys.readouterr().out
    assert "  due " in out
    assert "2026-01-12T11:00:00+03:00" in out
    assert "." not in out.split("due", 1)[1].splitlines()[0]


# --- mail by SMTP, and the dead letters ----------------------------------------------------------


@attrs.define
class Inbox:
    received: list[Envelope] = attrs.Factory(list)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        return "250 OK queued"


@pytest.fixture(name="smtp_port")
def fixture_smtp_port() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.mark.rule("N3")
def test_the_cli_sends_by_smtp_when_a_host_is_set_in_the_environment(
    shell: Shell, smtp_port: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$KOMTET_WORKS_SMTP_HOST and --smtp-port: the messages reach aiosmtpd, none the
    mail directory."""
    inbox, port = smtp_port
    monkeypatch.setenv("KOMTET_WORKS_SMTP_HOST", "127.0.0.1")
    smtp = ("--smtp-port", str(port), "--smtp-security", "none")
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", EVE["request"], *smtp,
    )  # fmt: skip
    shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "1", "--now", EVE["estimate"], *smtp)
    assert [["c-1@customers.invalid"]] == [e.rcpt_tos for e in inbox.received]
    assert {"sent": 0, "smtp_host": "127.0.0.1", "dead": 0, "billing_commands": 0} == shell.ok(
        "relay", *smtp
    )
    assert not (tmp_path / "outbox-mail" / "new").exists()


@pytest.mark.rule("N5")
def test_dead_letters_are_listed_and_requeued_from_the_cli(shell: Shell, tmp_path: Path) -> None:
    """A stored message that cannot be read is parked by relay, listed by dead-letters with
    its error, and put back by requeue; an id that is not dead is named as such."""
    _paid_on_new_years_eve(shell)
    with closing(sqlite3.connect(tmp_path / "komtet-works.sqlite")) as db, db:
        db.execute("UPDATE outbox SET body = 'the works are complete' WHERE kind = 'quote_issued'")
        db.execute("UPDATE outbox SET sent_at = NULL WHERE kind = 'quote_issued'")
    assert {"sent": 0, "mail_dir": "outbox-mail", "dead": 1, "billing_commands": 0} == shell.ok(
        "relay"
    )
    [dead] = shell.ok("dead-letters")
    assert ("o-1", "quote_issued", 0) == (dead["order_id"], dead["kind"], dead["attempts"])
    assert dead["error"].startswith("InvalidInput: ")
    requeued = shell.ok("requeue", dead["id"], "no-such-message")
    assert {"requeued": [dead["id"]], "not_dead": ["no-such-message"]} == requeued
    assert [] == shell.ok("dead-letters")
