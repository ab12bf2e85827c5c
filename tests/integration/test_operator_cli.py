"""The operator's command line over a real database: whole lives of orders from a shell."""

from __future__ import annotations

import email
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import attrs
import pytest
from psycopg.conninfo import conninfo_to_dict

from komtet_works import Money, bootstrap
from komtet_works.adapters.mail import KIND_HEADER
from komtet_works.adapters.sql.stores import SqlBilling
from komtet_works.entrypoints.cli import main
from komtet_works.testing import ODD_TEXTS

SITE = "shop.example"
#: The instants of the story, Moscow time: a Monday, and the claim deadline 72 h after
#: the notice at 12:40.
T = {
    "request": "2026-03-02T10:00:00+03:00",
    "estimate": "2026-03-02T10:30:00+03:00",
    "pay": "2026-03-02T11:00:00+03:00",
    "schedule": "2026-03-02T11:05:00+03:00",
    "start": "2026-03-02T11:10:00+03:00",
    "complete": "2026-03-02T12:40:00+03:00",
    "deadline": "2026-03-05T12:40:00+03:00",
    "after": "2026-03-05T12:40:01+03:00",
}


@attrs.frozen
class Shell:
    """`komtet-works --db DB ...` run in-process, with the directories of one test."""

    db: str
    root: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Run one command with this shell's directories; its exit code, stdout and stderr."""
        directories = (
            f"--mail-dir={self.root / 'mail'}",
            f"--sites-root={self.root / 'sites'}",
            f"--backup-root={self.root / 'backups'}",
            f"--backup-key={self.root / 'backup.key'}",
        )
        code = main(["--db", self.db, *argv, *directories])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def ok(self, *argv: str) -> Any:
        """Run one command with --json; it must exit 0 quietly; the document it printed."""
        code, out, err = self.run(*argv, "--json")
        assert (0, "") == (code, err)
        return json.loads(out)

    def refused(self, *argv: str) -> tuple[int, str]:
        """Run a command that must be refused: its exit code and its one stderr line."""
        code, out, err = self.run(*argv)
        assert "" == out
        assert 1 == len(err.splitlines())
        return code, err.strip()


def _at(name: str) -> datetime:
    return datetime.fromisoformat(T[name])


def _site(root: Path, content: str) -> Path:
    site = root / "sites" / SITE
    (site / "css").mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text(content, encoding="utf-8")
    (site / "css" / "shop.css").write_text("body {}", encoding="utf-8")
    return site


def _pg_uri(dsn: str) -> str:
    """The keyword DSN of the `pg_dsn` fixture as the postgresql:// URI the CLI takes."""
    parts = conninfo_to_dict(dsn)
    user, host = parts.get("user", "postgres"), parts.get("host", "127.0.0.1")
    port, options = parts.get("port", "5432"), quote(str(parts.get("options", "")))
    return f"postgresql://{user}@{host}:{port}/{parts['dbname']}?options={options}"


@pytest.fixture(
    name="shell",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fixture_shell(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Shell:
    """A shell over a new SQLite file, or a new PostgreSQL schema, with customer c-1."""
    if request.param == "sqlite":
        db = str(tmp_path / "works.sqlite")
    else:
        db = _pg_uri(request.getfixturevalue("pg_dsn"))
    shell = Shell(db, tmp_path, capsys)
    _site(tmp_path, "<h1>shop</h1>")
    shell.ok(
        "customer-add", "c-1", "--site", SITE, "--maintained", SITE, "--server", "vps-1",
        "--now", T["request"],
    )  # fmt: skip
    return shell


def _scheduled(shell: Shell, order: str) -> None:
    shell.ok(
        "request", order, "--customer", "c-1", "--target", SITE, "--problem", "checkout fails",
        "--now", T["request"],
    )  # fmt: skip
    shell.ok("estimate", order, "--staff", "s-1", "--hours", "1.6", "--now", T["estimate"])
    shell.ok("pay", order, "--payment", f"p-{order}", "--amount", "1280.00", "--now", T["pay"])
    shell.ok("schedule", order, "--staff", "s-1", "--now", T["schedule"])


def _walk_to_completed(shell: Shell, order: str = "o-1") -> dict[str, Any]:
    _scheduled(shell, order)
    shell.ok("start", order, "--staff", "s-1", "--now", T["start"])
    completed: dict[str, Any] = shell.ok(
        "complete", order, "--staff", "s-1", "--now", T["complete"]
    )
    return completed


@pytest.mark.rule("L1", "L2", "L4", "L5", "L7", "L11", "C1", "C4", "P4", "P6")
def test_an_order_lives_from_request_to_close_through_the_shell(shell: Shell) -> None:
    """Request, estimate, pay, schedule, start, complete, then the closing job closes it."""
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "checkout fails",
        "--now", T["request"],
    )  # fmt: skip
    estimated = shell.ok(
        "estimate", "o-1", "--staff", "s-1", "--hours", "1.6", "--now", T["estimate"]
    )
    assert ("1.6", "320.00", "1280.00") == tuple(
        estimated["current_quote"][k] for k in ("billable_hours", "discount", "total")
    )
    paid = shell.ok("pay", "o-1", "--payment", "p-1", "--amount", "1280.00", "--now", T["pay"])
    assert ("paid", "1280.00") == (paid["state"], paid["paid"])
    scheduled = shell.ok("schedule", "o-1", "--staff", "s-1", "--now", T["schedule"])
    assert "scheduled" == scheduled["state"]
    started = shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    assert ("in_progress", "bk-o-1-1", True) == (
        started["state"],
        started["works"]["backup"]["reference"],
        started["works"]["backup"]["verified"],
    )
    completed = shell.ok("complete", "o-1", "--staff", "s-1", "--now", T["complete"])
    assert (_at("complete"), _at("deadline")) == (
        datetime.fromisoformat(completed["works"]["notice_sent_at"]),
        datetime.fromisoformat(completed["works"]["claim_deadline"]),
    )
    assert {"closed": []} == shell.ok("close-expired", "--now", T["deadline"])
    assert {"closed": ["o-1"]} == shell.ok("close-expired", "--now", T["after"])
    shown = shell.ok("show", "o-1")
    assert ("closed", 8) == (shown["state"], shown["version"])
    assert [
        ("OrderRequested", "customer", "c-1"),
        ("EstimateIssued", "staff", "s-1"),
        ("PaymentReceived", "system", "billing"),
        ("CompletionDateAnnounced", "staff", "s-1"),
        ("WorksStarted", "staff", "s-1"),
        ("WorksCompleted", "staff", "s-1"),
        ("CompletionNoticeSent", "system", "notifier"),
        ("OrderClosed", "system", "closing-job"),
    ] == [(e["type"], e["actor"]["kind"], e["actor"]["id"]) for e in shown["events"]]


@pytest.mark.rule("C1")
def test_a_claim_one_second_after_the_deadline_exits_1_with_its_code(shell: Shell) -> None:
    """The claim at 12:40:01 on Thursday: exit 1, claim_window_closed, the order unchanged."""
    _walk_to_completed(shell)
    code, line = shell.refused(
        "claim", "o-1", "--customer", "c-1", "--text", "broken again", "--now", T["after"]
    )
    assert 1 == code
    assert line.startswith("komtet-works: error: claim_window_closed: ")
    assert ("completed", 7) == tuple(shell.ok("show", "o-1")[k] for k in ("state", "version"))


@pytest.mark.rule("C3", "L8", "I4")
def test_an_accepted_claim_refunds_once_and_puts_the_site_back(shell: Shell) -> None:
    """A claim accepted with outcome refund: the payment refunded, the site's files restored."""
    _walk_to_completed(shell)
    index = shell.root / "sites" / SITE / "index.html"
    index.write_text("<h1>broken by the works</h1>", encoding="utf-8")
    shell.ok("claim", "o-1", "--customer", "c-1", "--text", "it broke", "--now", T["deadline"])
    resolved = shell.ok(
        "resolve", "o-1", "--staff", "s-1", "--outcome", "refund", "--now", T["after"]
    )
    assert ("refunded", "1280.00", True) == (
        resolved["state"],
        resolved["refunded"],
        resolved["works"]["restored"],
    )
    assert [{"payment_id": "p-o-1", "amount": "1280.00", "reference": "rf-1"}] == (
        resolved["refunds"]
    )
    assert "<h1>shop</h1>" == index.read_text(encoding="utf-8")


@pytest.mark.rule("L8", "D-RESTORE")
def test_failed_works_refund_and_report_a_restore_that_could_not_happen(shell: Shell) -> None:
    """The backup copy damaged before the failure: refunded anyway, restored is false."""
    _walk_to_completed(shell, "o-2")
    shell.ok(
        "claim",
        "o-2",
        "--customer",
        "c-1",
        "--text",
        "no",
        "--remedy",
        "rework",
        "--now",
        T["deadline"],
    )
    shell.ok("resolve", "o-2", "--staff", "s-1", "--outcome", "rework", "--now", T["deadline"])
    (shell.root / "backups" / "bk-o-2-1" / "tree" / "index.html").write_text("tampered")
    failed = shell.ok("fail", "o-2", "--staff", "s-1", "--now", T["after"])
    assert ("refunded", "1280.00", False) == (
        failed["state"],
        failed["refunded"],
        failed["works"]["restored"],
    )


@pytest.mark.rule("E4", "P4")
def test_a_target_of_two_kinds_is_named_with_target_kind(shell: Shell) -> None:
    """Without --target-kind the name is ambiguous_target; the server pays the full price."""
    shell.ok(
        "customer-add", "c-5", "--site", "twin.example", "--server", "twin.example",
        "--maintained", "twin.example", "--now", T["request"],
    )  # fmt: skip
    code, line = shell.refused(
        "request", "o-5", "--customer", "c-5", "--target", "twin.example", "--problem", "slow",
        "--now", T["request"],
    )  # fmt: skip
    assert (1, True) == (code, line.startswith("komtet-works: error: ambiguous_target: "))
    shell.ok(
        "request", "o-5", "--customer", "c-5", "--target", "twin.example",
        "--target-kind", "server", "--problem", "slow", "--now", T["request"],
    )  # fmt: skip
    quoted = shell.ok("estimate", "o-5", "--staff", "s-1", "--hours", "2", "--now", T["estimate"])
    assert ("server", "2000.00") == (quoted["target"]["kind"], quoted["current_quote"]["total"])


@pytest.mark.rule("L5", "D-BACKUP-FAILURE", "L12")
def test_works_do_not_start_when_the_site_has_no_directory(shell: Shell) -> None:
    """No directory to back up: backup_failed, exit 1, and the order stays scheduled."""
    shell.ok(
        "customer-add", "c-2", "--site", "lost.example", "--now", T["request"],
    )  # fmt: skip
    (shell.root / "sites" / "lost.example").rmdir()  # the site's directory went missing
    shell.ok(
        "request", "o-3", "--customer", "c-2", "--target", "lost.example", "--problem", "slow",
        "--now", T["request"],
    )  # fmt: skip
    shell.ok("estimate", "o-3", "--staff", "s-1", "--hours", "1", "--now", T["estimate"])
    shell.ok("pay", "o-3", "--payment", "p-3", "--amount", "1000.00", "--now", T["pay"])
    shell.ok("schedule", "o-3", "--staff", "s-1", "--now", T["schedule"])
    code, line = shell.refused("start", "o-3", "--staff", "s-1", "--now", T["start"])
    assert 1 == code
    assert line.startswith("komtet-works: error: backup_failed: ")
    assert ("scheduled", 4) == tuple(shell.ok("show", "o-3")[k] for k in ("state", "version"))


@pytest.mark.rule("E1")
def test_a_request_on_another_customers_site_is_refused(shell: Shell) -> None:
    """c-1 asks for works on a site it does not have: not_customer_target, exit 1."""
    code, line = shell.refused(
        "request", "o-9", "--customer", "c-1", "--target", "other.example", "--problem", "x",
        "--now", T["request"],
    )  # fmt: skip
    assert 1 == code
    assert line.startswith("komtet-works: error: not_customer_target: ")


def test_list_finds_orders_by_customer_and_by_state(shell: Shell) -> None:
    """Two orders of c-1, one paid and one requested: list filters by state and customer."""
    shell.ok("customer-add", "c-2", "--site", "b.example", "--now", T["request"])
    for order, customer, target in (("o-1", "c-1", SITE), ("o-2", "c-2", "b.example")):
        shell.ok(
            "request", order, "--customer", customer, "--target", target, "--problem", "p",
            "--now", T["request"],
        )  # fmt: skip
    shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "2", "--now", T["estimate"])
    assert ["o-1", "o-2"] == [o["id"] for o in shell.ok("list")]
    assert ["o-2"] == [o["id"] for o in shell.ok("list", "--customer", "c-2")]
    assert ["o-1"] == [o["id"] for o in shell.ok("list", "--state", "estimated")]
    assert [] == shell.ok("list", "--customer", "c-2", "--state", "estimated")


def _kind(mail: Path) -> str:
    """The message kind a mail file of the mail directory carries, from its header."""
    return str(email.message_from_bytes(mail.read_bytes())[KIND_HEADER])


def test_every_step_delivers_its_message_into_the_mail_directory(shell: Shell) -> None:
    """With the mail directory writable, each step's message is already a file: none pend."""
    _walk_to_completed(shell)
    kinds = {_kind(p) for p in (shell.root / "mail" / "new").iterdir()}
    assert {"quote_issued", "completion_date", "works_starting", "works_completed"} <= kinds
    assert {
        "sent": 0,
        "mail_dir": str(shell.root / "mail"),
        "dead": 0,
        "billing_commands": 0,
    } == shell.ok("relay")


def test_relay_sends_what_waited_while_the_mail_directory_was_unusable(shell: Shell) -> None:
    """Messages of steps taken while mail failed stay in the outbox; relay sends them once."""
    blocked = shell.root / "mail"
    blocked.write_text("not a directory", encoding="utf-8")
    _walk_to_completed(shell)
    blocked.unlink()
    relayed = shell.ok("relay", "--now", T["after"])
    files = sorted((shell.root / "mail" / "new").iterdir())
    assert len(files) == relayed["sent"]
    assert {"quote_issued", "works_completed"} <= {_kind(p) for p in files}
    expected = {"sent": 0, "mail_dir": str(blocked), "dead": 0, "billing_commands": 0}
    assert expected == shell.ok("relay")


@pytest.mark.rule("L5")
def test_customer_add_gives_each_new_site_and_server_its_directory(shell: Shell) -> None:
    """A new site or server gets an empty directory under the sites root; a kept one is
    left as it is; a name that would leave the sites root is refused and adds nobody."""
    shell.ok("customer-add", "c-9", "--site", SITE, "--server", "vps-9")
    assert [] == list((shell.root / "sites" / "vps-9").iterdir())
    assert (shell.root / "sites" / SITE / "index.html").exists()
    code, _ = shell.refused("customer-add", "c-10", "--site", "../outside")
    assert (2, False) == (code, (shell.root / "outside").exists())
    assert 1 == shell.refused("show", "nothing")[0]


def test_customer_add_replaces_what_is_known_of_a_customer(shell: Shell) -> None:
    """Adding c-1 again without --maintained ends its subscription: no discount after."""
    shell.ok("customer-add", "c-1", "--site", SITE, "--server", "vps-1")
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", T["request"],
    )  # fmt: skip
    estimated = shell.ok(
        "estimate", "o-1", "--staff", "s-1", "--hours", "1", "--now", T["estimate"]
    )
    assert ("0.00", "1000.00") == (
        estimated["current_quote"]["discount"],
        estimated["current_quote"]["total"],
    )


def test_the_human_output_names_the_order_its_state_and_its_quote(shell: Shell) -> None:
    """Without --json: the order, its state and version, the quote and its breakdown."""
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", T["request"],
    )  # fmt: skip
    code, out, err = shell.run(
        "estimate", "o-1", "--staff", "s-1", "--hours", "1.6", "--now", T["estimate"]
    )
    lines = [line.split() for line in out.splitlines()]
    assert (0, "") == (code, err)
    assert ["order", "o-1"] == lines[0]
    assert ["state", "estimated", "(version", "2)"] in lines
    assert ["total", "1280.00", "RUB"] in lines


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (("estimate", "o-1", "--staff", "s-1", "--hours", "-1"), "invalid_input: hours "),
        (("show", "o-1", "--now", "2026-03-02T10:00:00"), "invalid_input: now has no time zone"),
        (("show", "o-1", "--now", "monday"), "invalid_input: now is not an ISO 8601 time"),
        (("pay", "o-1", "--payment", "p", "--amount", "1.001"), "invalid_input: amount "),
        (("schedule", "o-1", "--staff", "s", "--due", "2026-03-09"), "invalid_input: due has no"),
        (("customer-add", "c-3", "--maintained", "x.example"), "invalid_input: maintained sites"),
    ],
)
def test_bad_input_exits_2_with_one_line(shell: Shell, argv: tuple[str, ...], start: str) -> None:
    """Values that cannot mean anything: exit 2, one line naming invalid_input."""
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", T["request"],
    )  # fmt: skip
    code, line = shell.refused(*argv)
    assert 2 == code
    assert line.startswith(f"komtet-works: error: {start}")


def test_an_unknown_order_exits_1_with_unknown_order(shell: Shell) -> None:
    """show of an order nobody requested: exit 1, unknown_order."""
    code, line = shell.refused("show", "nobody")
    assert (1, "komtet-works: error: unknown_order: no work order 'nobody'") == (code, line)


def test_an_outcome_the_library_does_not_know_is_a_usage_error(shell: Shell) -> None:
    """resolve --outcome maybe: argparse refuses it, exit 2, naming the choices."""
    code, out, err = shell.run("resolve", "o-1", "--staff", "s-1", "--outcome", "maybe")
    assert (2, "") == (code, out)
    assert "invalid choice: 'maybe'" in err


def test_a_database_that_cannot_be_opened_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite path in a missing directory: database_unavailable on one line, exit 1."""
    code = main(["--db", str(tmp_path / "missing" / "works.sqlite"), "list"])
    err = capsys.readouterr().err
    assert 1 == code
    assert err.startswith("komtet-works: error: database_unavailable: ")
    assert 1 == len(err.splitlines())


def test_the_default_database_is_a_sqlite_file_in_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --db, customer-add writes komtet-works.sqlite where the command runs."""
    monkeypatch.chdir(tmp_path)
    assert 0 == main(["customer-add", "c-1", "--site", SITE])
    assert "customer c-1" == capsys.readouterr().out.splitlines()[0]
    assert (tmp_path / "komtet-works.sqlite").is_file()


def _requested_and_estimated(shell: Shell) -> None:
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "slow pages",
        "--now", T["request"],
    )  # fmt: skip
    shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "2", "--now", T["estimate"])


@pytest.mark.rule("L3")
def test_a_supplement_withdraws_the_quote_until_a_new_estimate(shell: Shell) -> None:
    """After supplement there is no current quote: paying is no_current_quote, exit 1."""
    _requested_and_estimated(shell)
    supplemented = shell.ok(
        "supplement", "o-1", "--customer", "c-1", "--text", "also the cart", "--now", T["pay"]
    )
    assert ("requested", None, ["also the cart"]) == (
        supplemented["state"],
        supplemented["current_quote"],
        supplemented["supplements"],
    )
    code, line = shell.refused("pay", "o-1", "--payment", "p", "--amount", "1600.00")
    assert 1 == code
    assert line.startswith("komtet-works: error: no_current_quote: ")


def test_the_customer_declines_the_quote(shell: Shell) -> None:
    """decline ends the order in declined."""
    _requested_and_estimated(shell)
    assert "declined" == shell.ok("decline", "o-1", "--customer", "c-1", "--now", T["pay"])["state"]


@pytest.mark.rule("L14")
def test_another_customer_cannot_decline_the_order(shell: Shell) -> None:
    """c-2 acting on c-1's order: not_order_owner, exit 1, the order unchanged."""
    _requested_and_estimated(shell)
    code, line = shell.refused("decline", "o-1", "--customer", "c-2", "--now", T["pay"])
    assert 1 == code
    assert line.startswith("komtet-works: error: not_order_owner: ")
    assert "estimated" == shell.ok("show", "o-1")["state"]


@pytest.mark.rule("D-CANCELLATION")
def test_a_cancellation_after_payment_refunds_everything(shell: Shell) -> None:
    """Paid, then cancelled before the works: cancelled, the payment refunded in full."""
    _requested_and_estimated(shell)
    shell.ok("pay", "o-1", "--payment", "p-1", "--amount", "1600.00", "--now", T["pay"])
    cancelled = shell.ok("cancel", "o-1", "--customer", "c-1", "--now", T["schedule"])
    assert ("cancelled", "1600.00", "1600.00") == (
        cancelled["state"],
        cancelled["paid"],
        cancelled["refunded"],
    )


@pytest.mark.rule("C2", "L6")
def test_a_change_during_the_works_voids_a_later_claim(shell: Shell) -> None:
    """The customer changed the site during the works: their claim is void, exit 1."""
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", T["request"],
    )  # fmt: skip
    shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "1.6", "--now", T["estimate"])
    shell.ok("pay", "o-1", "--payment", "p-1", "--amount", "1280.00", "--now", T["pay"])
    shell.ok("schedule", "o-1", "--staff", "s-1", "--now", T["schedule"])
    shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    changed = shell.ok("change", "o-1", "--customer", "c-1", "--now", "2026-03-02T12:00:00+03:00")
    assert [_at("start").replace(hour=12, minute=0)] == [
        datetime.fromisoformat(at) for at in changed["works"]["customer_changes"]
    ]
    shell.ok("complete", "o-1", "--staff", "s-1", "--now", T["complete"])
    code, line = shell.refused(
        "claim", "o-1", "--customer", "c-1", "--text", "x", "--now", T["deadline"]
    )
    assert 1 == code
    assert line.startswith("komtet-works: error: claim_void_customer_changes: ")


@pytest.mark.rule("C4")
def test_staff_cannot_close_an_order_while_claims_may_still_be_filed(shell: Shell) -> None:
    """close at the deadline itself: claim_window_open; one second later it closes."""
    _walk_to_completed(shell)
    code, line = shell.refused("close", "o-1", "--staff", "s-1", "--now", T["deadline"])
    assert 1 == code
    assert line.startswith("komtet-works: error: claim_window_open: ")
    assert "closed" == shell.ok("close", "o-1", "--staff", "s-1", "--now", T["after"])["state"]


def test_show_tells_the_problem_and_the_history_to_people(shell: Shell) -> None:
    """Without --json: the problem on one line, one history line per event, Moscow time."""
    _requested_and_estimated(shell)
    code, out, err = shell.run("show", "o-1")
    lines = out.splitlines()
    assert (0, "") == (code, err)
    assert ["problem", "slow", "pages"] in [line.split() for line in lines]
    history = lines[lines.index("history") + 1 :]
    assert ["OrderRequested,", "EstimateIssued,"] == [line.split()[3] for line in history]
    assert [T["request"], T["estimate"]] == [line.split()[0] for line in history]


@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
def test_odd_problem_texts_are_kept_exactly(shell: Shell, text: str) -> None:
    """Quotes, SQL, NUL, unicode, the longest text: show gives back exactly what was asked."""
    shell.ok("request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", text)
    assert text == shell.ok("show", "o-1")["problem"]


@pytest.mark.rule("L5")
def test_an_order_id_with_odd_characters_goes_through_backups_and_mail(shell: Shell) -> None:
    """Slashes, quotes and dots in the order id stay inside the backup and mail directories."""
    order = "../o'1; DROP TABLE work_orders; --"
    started = _walk_to_completed(shell, order)
    reference = started["works"]["backup"]["reference"]
    assert (shell.root / "backups" / reference).parent == shell.root / "backups"
    assert {shell.root / "mail" / "new"} == {
        p.parent for p in (shell.root / "mail" / "new").iterdir()
    }
    assert [order] == [o["id"] for o in shell.ok("list")]


@pytest.mark.parametrize(
    "db",
    ["postgresql://nobody@127.0.0.1:1/none?connect_timeout=5", "not-a-database.sqlite"],
    ids=["postgres-unreachable", "sqlite-not-a-database"],
)
def test_a_database_that_cannot_be_used_is_database_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    """No server on the port, or a file that is not SQLite: one line, exit 1, no traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-database.sqlite").write_bytes(b"plain text, not SQLite\n" * 100)
    code = main(["--db", db, "list"])
    err = capsys.readouterr().err
    assert (1, 1) == (code, len(err.splitlines()))
    assert err.startswith("komtet-works: error: database_unavailable: ")


# --- money across the billing edge (issue 7) ---------------------------------------------------


def _estimated(shell: Shell, order: str, hours: str = "2") -> None:
    shell.ok(
        "request", order, "--customer", "c-1", "--target", SITE, "--problem", "checkout fails",
        "--now", T["request"],
    )  # fmt: skip
    shell.ok("estimate", order, "--staff", "s-1", "--hours", hours, "--now", T["estimate"])


def _ledger_invoices(shell: Shell) -> int:
    with bootstrap.on_database(shell.db) as wiring:
        ledger = wiring.billing
        assert isinstance(ledger, SqlBilling)
        return len(ledger.invoices())


@pytest.mark.rule("K2", "K5")
def test_one_payment_id_reported_for_two_orders_pays_the_first_and_is_refunded_once(
    shell: Shell,
) -> None:
    """The second report is a conflict for staff; cancelling both refunds the payment once."""
    _estimated(shell, "o-1")
    _estimated(shell, "o-2")
    pay = ("--payment", "p-1", "--amount", "1600.00", "--now", T["pay"])
    assert "paid" == shell.ok("pay", "o-1", *pay)["state"]
    code, line = shell.refused("pay", "o-2", *pay)
    assert (1, True) == (code, "payment_belongs_to_another_order" in line)

    assert "cancelled" == shell.ok("cancel", "o-1", "--customer", "c-1", "--now", T["pay"])["state"]
    assert 1 == shell.refused("cancel", "o-2", "--customer", "c-1", "--now", T["pay"])[0]
    assert ("1600.00", "0.00") == (
        shell.ok("show", "o-1")["refunded"],
        shell.ok("show", "o-2")["refunded"],
    )
    listed = shell.ok("payments")
    assert ([], ["o-2"]) == (listed["unapplied"], [c["order"] for c in listed["conflicts"]])
    assert {"differences": []} == shell.ok("reconcile")


@pytest.mark.rule("K1")
def test_orders_whose_ids_hold_the_old_separator_are_both_cancelled_and_refunded(
    shell: Shell,
) -> None:
    """Order x paid by y:refund:z and order x:refund:y paid by z: two refunds, both settle."""
    for order, payment in (("x", "y:refund:z"), ("x:refund:y", "z")):
        _estimated(shell, order)
        shell.ok("pay", order, "--payment", payment, "--amount", "1600.00", "--now", T["pay"])
        cancelled = shell.ok("cancel", order, "--customer", "c-1", "--now", T["pay"])
        assert ("cancelled", "1600.00") == (cancelled["state"], cancelled["refunded"])
    assert {"differences": []} == shell.ok("reconcile")


@pytest.mark.rule("K3", "L12")
def test_after_an_estimate_refused_for_a_bad_staff_id_the_next_one_is_invoiced_and_paid(
    shell: Shell,
) -> None:
    """Invalid UTF-8 (SQLite) or a NUL (PostgreSQL) in the staff id: refused, no invoice;
    the next estimate at another price is the one invoiced and paid."""
    shell.ok(
        "request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
        "--now", T["request"],
    )  # fmt: skip
    bad_staff = "s-\udcff" if shell.db.endswith(".sqlite") else "s-\x00"
    code, _ = shell.refused("estimate", "o-1", "--staff", bad_staff, "--hours", "1")
    assert (2, 0) == (code, _ledger_invoices(shell))
    shell.ok("estimate", "o-1", "--staff", "s-1", "--hours", "3", "--now", T["estimate"])
    paid = shell.ok("pay", "o-1", "--payment", "p-1", "--amount", "2400.00", "--now", T["pay"])
    assert ("paid", 1) == (paid["state"], _ledger_invoices(shell))


@pytest.mark.rule("W1", "K2", "D-UNAPPLIED")
def test_money_the_rules_refuse_is_refunded_and_staff_withdraw_a_paid_order(
    shell: Shell,
) -> None:
    """A short payment is held unapplied and refunded; a withdrawal refunds the real one."""
    _estimated(shell, "o-1")
    code, line = shell.refused(
        "pay", "o-1", "--payment", "short", "--amount", "1599.99", "--now", T["pay"]
    )
    assert (1, True) == (code, "amount_mismatch" in line)
    shell.ok("pay", "o-1", "--payment", "p-1", "--amount", "1600.00", "--now", T["pay"])
    withdrawn = shell.ok(
        "withdraw", "o-1", "--staff", "s-1", "--reason", "hosting_fault", "--now", T["pay"]
    )
    assert ("withdrawn", "1600.00") == (withdrawn["state"], withdrawn["refunded"])
    [held] = shell.ok("payments")["unapplied"]
    assert ("short", "amount_mismatch", True) == (
        held["id"],
        held["refused"],
        held["refund_reference"] is not None,
    )
    assert {"differences": []} == shell.ok("reconcile")


@pytest.mark.rule("K5")
def test_reconcile_names_money_billing_holds_that_was_never_reported_and_exits_1(
    shell: Shell,
) -> None:
    """A payment in the ledger that no report brought: one line naming it, exit 1."""
    _estimated(shell, "o-1")
    with bootstrap.on_database(shell.db) as wiring:
        ledger = wiring.billing
        assert isinstance(ledger, SqlBilling)
        ledger.receive(payment_id="lost", order_id="o-1", amount=Money.of("1600.00"))
    code, out, _ = shell.run("reconcile")
    assert (1, ["payment_not_recorded"]) == (
        code,
        [line.split(":")[0] for line in out.splitlines()],
    )


# --- works on a target (issue 9) ---------------------------------------------------------------


@pytest.mark.rule("T1", "T3")
def test_a_second_order_waits_for_the_first_and_survives_its_refund(shell: Shell) -> None:
    """o-2 on a site in works is target_busy until o-1 completes; refunding o-1 later
    refunds in full but leaves o-2's works in place until staff decide."""
    _scheduled(shell, "o-1")
    _scheduled(shell, "o-2")
    shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    code, line = shell.refused("start", "o-2", "--staff", "s-2", "--now", T["start"])
    assert (1, True) == (code, line.startswith("komtet-works: error: target_busy: "))
    assert "scheduled" == shell.ok("show", "o-2")["state"]
    shell.ok("complete", "o-1", "--staff", "s-1", "--now", T["complete"])
    assert (
        "in_progress" == shell.ok("start", "o-2", "--staff", "s-2", "--now", T["complete"])["state"]
    )
    index = shell.root / "sites" / SITE / "index.html"
    index.write_text("<h1>o-2's new checkout</h1>", encoding="utf-8")
    shell.ok("claim", "o-1", "--customer", "c-1", "--text", "it broke", "--now", T["deadline"])
    refunded = shell.ok(
        "resolve", "o-1", "--staff", "s-1", "--outcome", "refund", "--now", T["deadline"]
    )
    assert ("refunded", "1280.00", False, "restore_conflict", "o-2") == (
        refunded["state"],
        refunded["refunded"],
        refunded["works"]["restored"],
        refunded["works"]["restore_withheld"],
        refunded["works"]["conflicting_order"],
    )
    assert "<h1>o-2's new checkout</h1>" == index.read_text(encoding="utf-8")
    kinds = sorted(_kind(mail) for mail in (shell.root / "mail" / "new").iterdir())
    assert 1 == kinds.count("restore_withheld")
    decided = shell.ok(
        "decide-restore", "o-1", "--staff", "s-1", "--restore", "no", "--now", T["after"]
    )
    assert (False, False) == (
        decided["works"]["restore_override"],
        decided["works"]["restored"],
    )
    assert "<h1>o-2's new checkout</h1>" == index.read_text(encoding="utf-8")


@pytest.mark.rule("T2")
def test_a_site_given_to_another_customer_is_not_backed_up_for_the_old_owner(
    shell: Shell,
) -> None:
    """The site passed to c-2 before the start: not_customer_target, no backup on disk,
    the order still scheduled (for staff to withdraw, which refunds it)."""
    _scheduled(shell, "o-1")
    shell.ok("customer-add", "c-1", "--server", "vps-1", "--now", T["schedule"])
    shell.ok("customer-add", "c-2", "--site", SITE, "--now", T["schedule"])
    code, line = shell.refused("start", "o-1", "--staff", "s-1", "--now", T["start"])
    assert (1, True) == (code, line.startswith("komtet-works: error: not_customer_target: "))
    assert [] == [p.name for p in (shell.root / "backups").glob("bk-*")]
    assert "scheduled" == shell.ok("show", "o-1")["state"]


def _special_files(site: Path) -> list[str]:
    os.mkfifo(site / "pipe")
    if os.geteuid() != 0:  # a device node needs root; CI runs as root
        return ["'pipe' is a FIFO"]
    os.mknod(site / "zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # what /dev/zero is
    return ["'pipe' is a FIFO", "'zero' is a character device"]


@pytest.mark.rule("D-BACKUP-SPECIAL-FILES", "D-BACKUP-FAILURE")
def test_a_site_holding_a_fifo_and_a_device_is_refused_not_hung(shell: Shell) -> None:
    """start on a site with a FIFO and /dev/zero's node returns backup_failed naming one of
    them (never opening either), leaves no backup, and the order stays scheduled."""
    named = _special_files(shell.root / "sites" / SITE)
    _scheduled(shell, "o-1")
    code, line = shell.refused("start", "o-1", "--staff", "s-1", "--now", T["start"])
    assert (1, True) == (code, line.startswith("komtet-works: error: backup_failed: "))
    assert any(name in line for name in named), line
    assert [] == [p.name for p in (shell.root / "backups").glob("bk-*")]
    assert "scheduled" == shell.ok("show", "o-1")["state"]


@pytest.mark.rule("H1")
def test_staff_log_hours_spent_and_people_see_them_against_the_estimate(shell: Shell) -> None:
    _scheduled(shell, "o-1")
    shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    logged = shell.ok(
        "log-hours", "o-1", "--staff", "s-1", "--hours", "0.75", "--note", "found it",
        "--now", T["start"],
    )  # fmt: skip
    assert [("s-1", "0.75", "found it")] == [
        (e["logged_by"], e["hours"], e["note"]) for e in logged["works"]["time_entries"]
    ]
    code, out, _ = shell.run("show", "o-1")
    assert 0 == code
    assert "0.75 h of 1.6 h estimated" in out
    code, _, err = shell.run("log-hours", "o-1", "--staff", "s-1", "--hours", "0")
    assert (2, 1) == (code, len(err.strip().splitlines()))


@pytest.mark.rule("S3")
def test_the_overdue_job_names_each_late_order_and_exits_1(shell: Shell) -> None:
    """One line per order past its date, the date in Moscow; 0 while none is late."""
    _scheduled(shell, "o-1")
    due = datetime.fromisoformat(shell.ok("show", "o-1")["works"]["due"])
    assert (0, "no order is overdue\n", "") == shell.run("overdue", "--now", due.isoformat())
    later = (due + timedelta(days=1)).isoformat()
    moscow = due.astimezone(ZoneInfo("Europe/Moscow")).isoformat(timespec="seconds")
    assert (1, f"o-1  scheduled  overdue: due {moscow}\n", "") == shell.run(
        "overdue", "--now", later
    )
    code, out, _ = shell.run("overdue", "--now", later, "--json")
    assert (1, [{"id": "o-1", "state": "scheduled", "due": due.isoformat()}]) == (
        code,
        json.loads(out)["overdue"],
    )
    assert [True] == [o["overdue"] for o in shell.ok("list", "--now", later)]
    assert shell.ok("show", "o-1", "--now", later)["overdue"]
    _, listed, _ = shell.run("list", "--now", later)
    assert listed.rstrip().endswith("overdue")


@pytest.mark.rule("S2", "S3")
def test_staff_revise_a_late_date_while_the_works_run_and_it_is_no_longer_overdue(
    shell: Shell,
) -> None:
    """In progress past its date, a revision with a reason takes it off the overdue list."""
    _scheduled(shell, "o-1")
    shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    late = "2026-03-03T10:00:00+03:00"
    assert 1 == shell.run("overdue", "--now", late)[0]
    code, line = shell.refused(
        "schedule", "o-1", "--staff", "s-1", "--due", "2026-03-04T19:00:00+03:00", "--now", late
    )
    assert (2, "komtet-works: error: invalid_input: reason must not be empty") == (code, line)
    revised = shell.ok(
        "schedule", "o-1", "--staff", "s-1", "--due", "2026-03-04T19:00:00+03:00",
        "--reason", "the database is larger", "--urgency", "urgent", "--now", late,
    )  # fmt: skip
    assert ("in_progress", datetime.fromisoformat("2026-03-04T19:00:00+03:00")) == (
        revised["state"],
        datetime.fromisoformat(revised["works"]["due"]),
    )
    assert (0, "no order is overdue\n", "") == shell.run("overdue", "--now", late)


@pytest.mark.rule("H2", "D-OVERRUN")
def test_a_host_that_refunds_unused_hours_says_so_in_its_settings(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``spent_hours = "refund_unused"``: 1.6 h paid (1280.00), 0.5 h spent, billed as
    the 1-hour minimum with the discount (800.00): 480.00 comes back at completion."""
    monkeypatch.setenv("KOMTET_WORKS_SPENT_HOURS", "refund_unused")
    _scheduled(shell, "o-1")
    shell.ok("start", "o-1", "--staff", "s-1", "--now", T["start"])
    shell.ok("log-hours", "o-1", "--staff", "s-1", "--hours", "0.5", "--now", T["start"])
    completed = shell.ok("complete", "o-1", "--staff", "s-1", "--now", T["complete"])
    assert ("1280.00", "480.00") == (completed["paid"], completed["refunded"])
