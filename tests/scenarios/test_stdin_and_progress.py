"""`scenario -` reads the standard input; `conformance` tells a terminal how far it has got."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from komtet_works.entrypoints.cli import main
from komtet_works.scenarios.conformance import run_conformance, suite_cases

CASES = suite_cases()[:2]


def test_scenario_dash_reads_the_scenario_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenario -` prints for stdin's scenario what the suite expects for its file."""
    case = CASES[0]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(case.scenario.read_bytes())))
    assert 0 == main(["scenario", "-"])
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    assert (
        expected["scenarios"][0]["name"]
        == json.loads(capsys.readouterr().out)["scenarios"][0]["name"]
    )


def test_a_bad_document_on_stdin_is_named_as_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text on stdin that is not JSON: exit 2, one line naming <stdin>."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"{not json")))
    assert 2 == main(["scenario", "-"])
    err = capsys.readouterr().err
    assert 1 == len(err.splitlines())
    assert "<stdin>: not valid JSON" in err


@pytest.fixture(name="two_cases")
def fixture_two_cases(tmp_path: Path) -> Path:
    """A suite of two scenarios with their expected results."""
    for case in CASES:
        for part, path in (("scenarios", case.scenario), ("expected", case.expected)):
            (tmp_path / part).mkdir(exist_ok=True)
            shutil.copyfile(path, tmp_path / part / path.name)
    return tmp_path


def test_progress_counts_the_scenarios_and_the_report_ends_in_a_summary(two_cases: Path) -> None:
    """With a progress stream: "1/2 NAME", then the line cleared; the report's last line
    sums up."""
    out, progress = io.StringIO(), io.StringIO()
    ours = [sys.executable, "-m", "komtet_works", "scenario"]
    assert 0 == run_conformance(ours, out, suite=two_cases, jobs=1, progress=progress)
    assert progress.getvalue().startswith(f"\r\x1b[K1/2  {CASES[0].name}")
    assert progress.getvalue().endswith("\r\x1b[K")
    assert f"2 passed, 0 failed, of 2 scenarios in {two_cases}" == out.getvalue().splitlines()[-1]


def test_without_a_terminal_there_is_no_progress(
    two_cases: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Captured stderr is no terminal: it stays empty; stdout still ends in the summary."""
    ours = [sys.executable, "-m", "komtet_works", "scenario"]
    assert 0 == main(["conformance", "--suite", str(two_cases), "--", *ours])
    captured = capsys.readouterr()
    assert "" == captured.err
    assert captured.out.splitlines()[-1].startswith("2 passed, 0 failed, of 2 scenarios")
