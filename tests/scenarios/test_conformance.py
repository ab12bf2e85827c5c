"""`komtet-works conformance`: another program checked against the suite, field by field."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from komtet_works.entrypoints.cli import main
from komtet_works.scenarios import SUITE_VERSION
from komtet_works.scenarios.conformance import (
    OPTIONAL_FIELDS,
    SUITE,
    Case,
    differences,
    suite_cases,
)
from komtet_works.scenarios.schemas import RESULT_SCHEMA, SCHEMA_DIR, schema

OURS = (sys.executable, "-m", "komtet_works", "scenario")
WRONG = (sys.executable, str(Path(__file__).with_name("wrong_discount.py")))
CASES = suite_cases()


def report(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    """Run `conformance` in this process (the programs it checks run as processes)."""
    code = main(["conformance", *arguments])
    return code, capsys.readouterr().out.splitlines()


def failures(lines: list[str]) -> dict[str, str]:
    """Scenario name -> the difference the report names under its FAIL line."""
    return {
        line.removeprefix("FAIL  "): lines[index + 1].strip()
        for index, line in enumerate(lines)
        if line.startswith("FAIL  ")
    }


def first_discount(case: Case) -> tuple[int, str] | None:
    """The index and discount of the case's first expected step whose quote has one."""
    steps = json.loads(case.expected.read_text(encoding="utf-8"))["scenarios"][0]["steps"]
    return next(
        (
            (index, step["quote"]["discount"])
            for index, step in enumerate(steps)
            if "quote" in step and step["quote"]["discount"] != "0.00"
        ),
        None,
    )


@pytest.fixture(name="exported", scope="module")
def fixture_exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite as `conformance --export` writes it."""
    directory = tmp_path_factory.mktemp("vendored") / "suite"
    assert 0 == main(["conformance", "--export", str(directory)])
    return directory


def test_our_own_runner_passes_the_whole_suite(capsys: pytest.CaptureFixture[str]) -> None:
    """`conformance -- komtet-works scenario` passes every scenario and exits 0."""
    code, lines = report(capsys, "--", *OURS)
    assert 0 == code
    assert {} == failures(lines)
    assert lines[-1].startswith(f"{len(CASES)} passed, 0 failed, of {len(CASES)} scenarios")


def test_a_wrong_discount_is_named_in_every_scenario_and_field_it_changes(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 10% discount fails exactly the scenarios with a discount, at their first one."""
    code, lines = report(capsys, "--suite", str(exported), "--", *WRONG)
    expected = {
        case.name: f'scenarios[0].steps[{found[0]}].quote.discount: expected "{found[1]}"'
        for case in CASES
        if (found := first_discount(case)) is not None
    }
    assert 1 == code
    assert len(expected) >= 10
    named = failures(lines)
    assert sorted(expected) == sorted(named)
    assert [] == [name for name, line in named.items() if not line.startswith(expected[name])]
    assert lines[-1].startswith(f"{len(CASES) - len(expected)} passed, {len(expected)} failed")


def test_the_export_holds_the_suite_the_schemas_and_a_readme(exported: Path) -> None:
    """Every scenario and expected result, both schemas, byte for byte, and a README."""
    for part in ("scenarios", "expected"):
        shipped = sorted(path.name for path in (SUITE / part).glob("*.json"))
        assert shipped == sorted(path.name for path in (exported / part).iterdir())
        for name in shipped:
            assert (SUITE / part / name).read_bytes() == (exported / part / name).read_bytes()
    for path in SCHEMA_DIR.glob("*.json"):
        assert path.read_bytes() == (exported / "schema" / path.name).read_bytes()
    readme = (exported / "README.md").read_text(encoding="utf-8")
    assert f"conformance suite {SUITE_VERSION}" in readme
    assert f"{len(CASES)} scenarios" in readme


def test_export_refuses_a_directory_that_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is overwritten: a non-empty directory exits 2 and stays as it was."""
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    assert 2 == main(["conformance", "--export", str(tmp_path)])
    assert "not an empty directory" in capsys.readouterr().err
    assert ["mine.txt"] == [path.name for path in tmp_path.iterdir()]


@pytest.mark.parametrize(
    "arguments", [[], ["--export", "somewhere", "--", "true"]], ids=["neither", "both"]
)
def test_conformance_needs_either_a_command_or_an_export(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a program to check, or with both a program and --export: exit 2."""
    assert 2 == main(["conformance", *arguments])
    assert "give either -- COMMAND... or --export DIR" in capsys.readouterr().err


@pytest.fixture(name="one_case")
def fixture_one_case(tmp_path: Path) -> Path:
    """A suite of one scenario, for programs that fail before comparing anything."""
    case = CASES[0]
    for part, path in (("scenarios", case.scenario), ("expected", case.expected)):
        (tmp_path / part).mkdir()
        shutil.copyfile(path, tmp_path / part / path.name)
    return tmp_path


@pytest.mark.parametrize(
    ("program", "problem"),
    [
        ([sys.executable, "-c", "import sys; sys.exit(3)"], "exited with 3"),
        ([sys.executable, "-c", "print('no JSON here')"], "printed no JSON document"),
        (["/nonexistent/implementation"], "could not run '/nonexistent/implementation'"),
    ],
    ids=["exits-non-zero", "prints-no-json", "cannot-run"],
)
def test_a_program_that_gives_no_result_fails_with_the_reason(
    program: list[str], problem: str, one_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash, output that is not JSON, or a program that does not exist: FAIL, and why."""
    code, lines = report(capsys, "--suite", str(one_case), "--", *program)
    assert 1 == code
    assert {CASES[0].name: problem} == {
        name: problem for name, line in failures(lines).items() if line.startswith(problem)
    }


EXPECTED: dict[str, Any] = {
    "scenarios": [
        {
            "name": "n",
            "steps": [
                {"ok": False, "order": "o1", "error": "amount_mismatch", "message": "for people"},
                {
                    "ok": True,
                    "order": "o1",
                    "state": "estimated",
                    "quote": {"total": "1600.00", "issued_at": "2026-03-02T15:00:00+03:00"},
                },
            ],
            "orders": {"o1": {"backups": 1, "restored": None, "history": ["requested"]}},
        }
    ]
}


def actual_with(change: dict[str, Any]) -> dict[str, Any]:
    """The expected document with `change` made to its first scenario's second step."""
    document: dict[str, Any] = json.loads(json.dumps(EXPECTED))
    document["scenarios"][0]["steps"][1]["quote"].update(change)
    return document


def first(expected: object, actual: object) -> str | None:
    found = next(differences(expected, actual), None)
    return None if found is None else str(found)


def test_an_equal_result_has_no_differences() -> None:
    """The same document compares equal."""
    assert first(EXPECTED, json.loads(json.dumps(EXPECTED))) is None


def test_a_number_is_not_a_decimal_string() -> None:
    """JSON types count: 1600 is not "1600.00"."""
    assert 'scenarios[0].steps[1].quote.total: expected "1600.00", got 1600' == first(
        EXPECTED, actual_with({"total": 1600})
    )


def test_messages_and_extra_fields_are_not_compared() -> None:
    """Another message, and fields the program adds, make no difference."""
    actual = actual_with({"their_own": "x"})
    actual["scenarios"][0]["steps"][0]["message"] = "für Menschen"
    assert first(EXPECTED, actual) is None


def test_optional_fields_count_only_when_printed() -> None:
    """Leaving out `history` or `issued_at` passes; printing a wrong one fails."""
    actual = actual_with({})
    del actual["scenarios"][0]["steps"][1]["quote"]["issued_at"]
    del actual["scenarios"][0]["orders"]["o1"]["history"]
    assert first(EXPECTED, actual) is None
    actual["scenarios"][0]["orders"]["o1"]["history"] = []
    assert 'scenarios[0].orders.o1.history[0]: expected "requested", got nothing' == first(
        EXPECTED, actual
    )


def test_instants_compare_as_instants() -> None:
    """12:00Z is 15:00+03:00; 15:00Z is not."""
    assert first(EXPECTED, actual_with({"issued_at": "2026-03-02T12:00:00Z"})) is None
    assert first(EXPECTED, actual_with({"issued_at": "2026-03-02T15:00:00Z"})) is not None


def test_a_missing_required_field_or_step_is_a_difference() -> None:
    """A required field left out, or a step too few, is named with its path."""
    actual = json.loads(json.dumps(EXPECTED))
    del actual["scenarios"][0]["orders"]["o1"]["restored"]
    assert "scenarios[0].orders.o1.restored: expected null, got nothing" == first(EXPECTED, actual)
    actual = json.loads(json.dumps(EXPECTED))
    actual["scenarios"][0]["steps"].pop()
    assert (first(EXPECTED, actual) or "").startswith("scenarios[0].steps[1]: expected {")


def test_the_optional_fields_are_the_ones_the_result_schema_does_not_require() -> None:
    """Each optional field is a property of the result schema that no `required` lists."""
    definitions = schema(RESULT_SCHEMA)["$defs"]
    properties = {name for d in definitions.values() for name in d.get("properties", {})}
    required = {name for d in definitions.values() for name in d.get("required", [])}
    conditional = {
        name for d in definitions.values() for branch in ("then", "else")
        for name in d.get(branch, {}).get("required", [])
    }  # fmt: skip
    assert set() == OPTIONAL_FIELDS - properties
    assert set() == OPTIONAL_FIELDS & (required | conditional)


def test_a_suite_without_scenarios_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --suite directory holding no scenario files is a bad argument, not a pass."""
    assert 2 == main(["conformance", "--suite", str(tmp_path), "--", *OURS])
    assert f"no scenario files in {tmp_path / 'scenarios'}" in capsys.readouterr().err


def test_a_scenario_without_its_expected_result_fails(
    one_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vendored suite that lost an expected file fails that scenario and says so."""
    (one_case / "expected" / CASES[0].expected.name).unlink()
    code, lines = report(capsys, "--suite", str(one_case), "--", "/nonexistent/implementation")
    assert 1 == code
    assert failures(lines)[CASES[0].name].startswith("the suite has no expected result")


@pytest.mark.parametrize("option", [["--jobs", "0"], ["--jobs", "x"], ["--timeout", "-1"]])
def test_jobs_and_timeout_must_be_positive_numbers(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--jobs 0`, `--jobs x` or `--timeout -1` is a usage error: exit 2, nothing run."""
    assert 2 == main(["conformance", *option, "--", *OURS])
    assert f"argument {option[0]}" in capsys.readouterr().err
