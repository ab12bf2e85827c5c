"""The `komtet-works` command line: quotes, refusals on one line, and the packaging."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from komtet_works.domain.errors import QuoteExpired
from komtet_works.entrypoints import cli, quote
from komtet_works.entrypoints.cli import main

BAD_HOURS = ("0", "-1", "abc", "nan", "inf", "1e999", "", "-0", "Infinity", "1e-50000000")


def shown_quote(capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, str]:
    """Run `quote --json` with `options`; return the one JSON document it printed."""
    assert 0 == main(["quote", *options, "--json"])
    shown: dict[str, str] = json.loads(capsys.readouterr().out)
    return shown


@pytest.mark.rule("P1", "P4", "P6")
def test_two_hours_on_a_maintained_site_cost_1600_rubles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two hours with Site Maintenance: 2000.00 gross, 400.00 off, 1600.00 to pay."""
    shown = shown_quote(capsys, "--hours", "2", "--maintenance")
    expected = {
        "hours": "2",
        "billable_hours": "2",
        "rate": "1000.00",
        "gross": "2000.00",
        "discount": "400.00",
        "discount_reason": "site_maintenance",
        "total": "1600.00",
        "currency": "RUB",
        "tariff_version": "seed",
    }
    assert expected == {key: shown[key] for key in expected}


@pytest.mark.rule("P2")
def test_half_an_hour_is_billed_as_the_one_hour_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    """0.5 hours are billed as 1 hour, 1000.00, with no discount and no reason."""
    shown = shown_quote(capsys, "--hours", "0.5")
    assert ("0.5", "1", "0.00", "1000.00") == (
        shown["hours"],
        shown["billable_hours"],
        shown["discount"],
        shown["total"],
    )
    assert "discount_reason" not in shown


@pytest.mark.rule("P7")
def test_two_and_two_point_zero_zero_give_the_same_quote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ "2" and "2.00" hours print the same figures."""
    figures = ("hours", "billable_hours", "gross", "discount", "total")
    first = shown_quote(capsys, "--hours", "2")
    second = shown_quote(capsys, "--hours", "2.00")
    assert [first[key] for key in figures] == [second[key] for key in figures]


@pytest.mark.rule("D-QUOTE-VALIDITY")
def test_a_quote_is_payable_for_seven_days_from_its_issue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """payable_until is issued_at plus the policy's seven days, both with an offset."""
    shown = shown_quote(capsys, "--hours", "1")
    issued = datetime.fromisoformat(shown["issued_at"])
    until = datetime.fromisoformat(shown["payable_until"])
    assert timedelta(days=7) == until - issued
    assert timedelta(0) == issued.utcoffset()


@pytest.mark.rule("P3", "P4", "P6")
def test_the_human_breakdown_shows_every_figure_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    """1.6 maintained hours: 1.6 billable, 1600.00 gross, 320.00 off, 1280.00 total."""
    assert 0 == main(["quote", "--hours", "1.6", "--maintenance"])
    lines = capsys.readouterr().out.splitlines()
    rows = {line[:18].rstrip(): line[20:] for line in lines}
    assert {
        "hours as estimated": "1.6",
        "billable hours": "1.6",
        "rate": "1000.00 RUB per hour",
        "gross": "1600.00 RUB",
        "discount": "320.00 RUB (site_maintenance)",
        "total": "1280.00 RUB",
        "currency": "RUB",
        "tariff version": "seed",
    } == {label: value for label, value in rows.items() if label != "payable until"}
    assert "payable until" in rows


@pytest.mark.rule("P8")
@pytest.mark.parametrize("hours", BAD_HOURS)
def test_bad_hours_exit_2_with_one_line_and_no_traceback(
    capsys: pytest.CaptureFixture[str], hours: str
) -> None:
    """Hours that are not a finite decimal above zero: exit 2, one line on stderr."""
    assert 2 == main(["quote", "--hours", hours])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert 1 == len(captured.err.splitlines())
    assert captured.err.startswith("komtet-works: error: invalid_input: hours ")
    assert "Traceback" not in captured.err


def test_a_missing_option_is_a_usage_error_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`quote` without --hours: argparse's usage error, exit 2, nothing on stdout."""
    assert 2 == main(["quote"])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert "--hours" in captured.err


def test_other_refusals_exit_1_with_their_code_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal that is not bad input exits 1; a message over lines is printed on one."""

    def refuse(_: object) -> int:
        raise QuoteExpired("the quote was payable until\nyesterday")

    monkeypatch.setattr(quote, "run_quote", refuse)
    assert 1 == main(["quote", "--hours", "1"])
    expected = "komtet-works: error: quote_expired: the quote was payable until yesterday\n"
    assert expected == capsys.readouterr().err


def test_every_command_module_registers_its_command() -> None:
    """The parser offers the commands its modules register: quote and demo."""
    parser = cli.build_parser()
    assert {"quote", "demo"} <= set(parser.format_help().split())


def test_the_installed_console_script_prices_a_quote() -> None:
    """The `komtet-works` script of the installed package runs and prints JSON."""
    script = shutil.which("komtet-works", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run(  # noqa: S603
        [script, "quote", "--hours", "0.5", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    assert "1000.00" == json.loads(done.stdout)["total"]


def test_python_dash_m_runs_the_same_command_line() -> None:
    """`python -m komtet_works` refuses bad hours like the script: exit 2, one line."""
    done = subprocess.run(
        [sys.executable, "-m", "komtet_works", "quote", "--hours", "abc"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 2 == done.returncode
    assert ["komtet-works: error: invalid_input: hours is not a number: 'abc'"] == (
        done.stderr.splitlines()
    )
