"""Files that are not valid scenarios exit 2 with one line naming the file, step and field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from komtet_works.entrypoints import scenarios as commands
from komtet_works.entrypoints.cli import main
from komtet_works.scenarios.conformance import SUITE
from komtet_works.scenarios.loading import MAX_FILE_BYTES
from komtet_works.scenarios.schemas import (
    RESULT_SCHEMA,
    RESULT_SCHEMA_V1,
    SCENARIO_SCHEMA,
    SCENARIO_SCHEMA_V1,
    schema,
    validator,
)

VALID: dict[str, Any] = {
    "name": "a valid scenario",
    "customers": [{"id": "c1", "sites": ["shop.example"], "maintenance": ["shop.example"]}],
    "steps": [
        {
            "at": "2026-03-02T10:00:00+03:00",
            "action": "request",
            "order": "o1",
            "customer": "c1",
            "target": "shop.example",
            "problem": "the module returns errors",
        },
        {"at": "2026-03-02T11:00:00+03:00", "action": "estimate", "order": "o1", "hours": "2"},
        {"at": "2026-03-02T12:00:00+03:00", "action": "pay", "order": "o1", "amount": "1600.00"},
        {"at": "2026-03-02T13:00:00+03:00", "action": "schedule", "order": "o1"},
    ],
}

Change = Callable[[dict[str, Any]], object]


def changed(change: Change) -> str:
    """The valid scenario with one change made, as JSON text."""
    document = copy.deepcopy(VALID)
    change(document)
    return json.dumps(document)


def step(index: int, **fields: object) -> Change:
    return lambda document: document["steps"][index].update(fields)


def drop(index: int, field: str) -> Change:
    return lambda document: document["steps"][index].pop(field)


def top(**fields: object) -> Change:
    return lambda document: document.update(fields)


#: (id, the file's text, what its one line must say besides the file name)
MALFORMED: list[tuple[str, str, tuple[str, ...]]] = [
    ("invalid-json", '{"name": "x", "steps": [', ("not valid JSON", "line 1")),
    (
        "naive-time",
        changed(step(1, at="2026-03-02T11:00:00")),
        ("steps[1] (estimate)", 'field "at"', "UTC offset", '"2026-03-02T11:00:00"'),
    ),
    (
        "naive-completion-date",
        changed(step(3, due="2026-03-04T18:00:00")),
        ("steps[3] (schedule)", 'field "due"', "UTC offset"),
    ),
    (
        "impossible-date",
        changed(step(0, at="2026-02-30T10:00:00+03:00")),
        ("steps[0] (request)", 'field "at"', "not a real instant"),
    ),
    (
        "hours-as-a-number",
        changed(step(1, hours=2)),
        ("steps[1] (estimate)", 'field "hours"', "decimal string", "JSON number 2"),
    ),
    (
        "amount-as-a-number",
        changed(step(2, amount=1600.0)),
        ("steps[2] (pay)", 'field "amount"', "decimal string", "JSON number 1600.0"),
    ),
    (
        "hours-as-a-boolean",
        changed(step(1, hours=True)),
        ("steps[1] (estimate)", 'field "hours"', "JSON boolean true"),
    ),
    (
        "tariff-rate-as-a-number",
        changed(top(tariff={"hourly_rate": 1000})),
        ('field "tariff.hourly_rate"', "decimal string", "JSON number 1000"),
    ),
    (
        "unknown-action",
        changed(step(1, action="refund")),
        ("steps[1] (refund)", 'field "action"', '"resolve_claim"', '"refund"'),
    ),
    (
        "unknown-step-field",
        changed(step(1, hourz="2")),
        ("steps[1] (estimate)", 'field "hourz"', "unknown field", "hours"),
    ),
    (
        "unknown-top-level-field",
        changed(top(customer=[])),
        ('field "customer"', "unknown field"),
    ),
    (
        "missing-step-field",
        changed(drop(2, "amount")),
        ("steps[2] (pay)", 'field "amount"', "missing"),
    ),
    (
        "missing-step-time",
        changed(drop(0, "at")),
        ("steps[0] (request)", 'field "at"', "missing"),
    ),
    (
        "missing-steps",
        changed(lambda document: document.pop("steps")),
        ('field "steps"', "missing"),
    ),
    ("no-steps", changed(top(steps=[])), ('field "steps"', "at least 1")),
    (
        "flag-as-text",
        changed(step(0, hosting_fault="yes")),
        ("steps[0] (request)", 'field "hosting_fault"', "true or false"),
    ),
    (
        "repeated-field",
        '{"name": "x", "name": "y", "customers": [], "steps": []}',
        ("not valid JSON", '"name" appears twice'),
    ),
    ("nan-literal", '{"name": NaN}', ("not valid JSON", "NaN")),
    ("not-an-object", "[]", ("the document", "JSON object", "array")),
    (
        "unknown-currency",
        changed(top(tariff={"currency": "XYZ"})),
        ('field "tariff.currency"', "XYZ"),
    ),
    (
        "impossible-tariff",
        changed(top(tariff={"minimum_hours": "1", "billing_increment": "0.3"})),
        ('field "tariff.minimum_hours"', "whole number of billing increments"),
    ),
    (
        "tariff-too-fine-to-count",
        changed(
            top(
                tariff={
                    "minimum_hours": "999999999999999",
                    "billing_increment": "0.000000000000001",
                }
            )
        ),
        ('field "tariff.minimum_hours"', "counted exactly"),
    ),
    (
        "duration-in-words",
        changed(top(policy={"claim_window": "3 days"})),
        ('field "policy.claim_window"', "ISO 8601 duration"),
    ),
    (
        "empty-window",
        changed(top(policy={"claim_window": "PT0S"})),
        ('field "policy.claim_window"', "positive"),
    ),
    (
        "unknown-time-zone",
        changed(top(policy={"provider_timezone": "Mars/Olympus"})),
        ('field "policy.provider_timezone"', "Mars/Olympus"),
    ),
    (
        "unknown-spent-hours-option",
        changed(top(policy={"spent_hours": "bill_the_overrun"})),
        ('field "policy.spent_hours"', "bill_the_overrun", "refund_unused"),
    ),
    (
        "maintenance-of-a-foreign-site",
        changed(top(customers=[{"id": "c1", "sites": ["a"], "maintenance": ["b"]}])),
        ('field "customers[0].maintenance"', '"b"', "not one of the customer's sites"),
    ),
    (
        "customer-listed-twice",
        changed(top(customers=[{"id": "c1"}, {"id": "c1"}])),
        ('field "customers[1].id"', "listed twice"),
    ),
    (
        "too-large",
        json.dumps({**VALID, "name": "x" * MAX_FILE_BYTES}),
        ("larger than the limit", str(MAX_FILE_BYTES)),
    ),
]


def refusal(capsys: pytest.CaptureFixture[str], *paths: Path) -> list[str]:
    """Run `scenario` on `paths`: it must exit 2 and print nothing; its stderr lines."""
    assert 2 == main(["scenario", *map(str, paths)])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert "Traceback" not in captured.err
    return captured.err.splitlines()


@pytest.mark.parametrize(
    ("text", "said"), [(text, said) for _, text, said in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_file_exits_2_with_one_line_naming_file_step_and_field(
    text: str, said: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2; one line on stderr naming the file and saying where and what is wrong."""
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    (line,) = refusal(capsys, path)
    assert line.startswith(f"komtet-works scenario: {path}: ")
    assert [] == [fragment for fragment in said if fragment not in line]


def test_the_valid_base_of_the_malformed_files_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scenario every malformed file is made from is itself valid, so each one fails alone."""
    path = tmp_path / "good.json"
    path.write_text(changed(lambda _: None), encoding="utf-8")
    assert 0 == main(["scenario", str(path)])
    (result,) = json.loads(capsys.readouterr().out)["scenarios"]
    assert ["requested", "estimated", "paid", "scheduled"] == [s["state"] for s in result["steps"]]


def test_bytes_that_are_not_utf8_are_not_a_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file in another encoding exits 2 and says which byte is not UTF-8."""
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    (line,) = refusal(capsys, path)
    assert f"{path}: not UTF-8 text (byte 13)" in line


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that cannot be read exits 2 and names the path."""
    path = tmp_path / "absent.json"
    (line,) = refusal(capsys, path)
    assert f"{path}: cannot read the file" in line


def test_one_invalid_file_stops_every_file_and_each_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing runs when one file is invalid; every invalid file gets its own line."""
    good, bad, worse = (tmp_path / f"{name}.json" for name in ("good", "bad", "worse"))
    good.write_text(changed(lambda _: None), encoding="utf-8")
    bad.write_text(changed(step(1, hours=2)), encoding="utf-8")
    worse.write_text("{", encoding="utf-8")
    lines = refusal(capsys, good, bad, worse)
    assert [str(bad), str(worse)] == [line.split(": ")[1] for line in lines]


def test_an_internal_error_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while running (not a refusal, not a bad file) exits 1 and says it is one."""

    def broken(_: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(commands, "run_scenario", broken)
    path = tmp_path / "good.json"
    path.write_text(changed(lambda _: None), encoding="utf-8")
    assert 1 == main(["scenario", str(path)])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert "internal error" in captured.err.splitlines()[-1]


def test_the_installed_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """As a process: a naive time exits 2 with one line on stderr and nothing on stdout."""
    path = tmp_path / "naive.json"
    path.write_text(changed(step(1, at="2026-03-02T11:00:00")), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - the test runs its own interpreter
        [sys.executable, "-m", "komtet_works", "scenario", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (2, "") == (done.returncode, done.stdout)
    assert 1 == len(done.stderr.splitlines())
    assert 'steps[1] (estimate), field "at"' in done.stderr


V2_ONLY_STEPS = [
    {"action": "withdraw", "reason": "other"},
    {"action": "relay"},
    {"action": "log_hours", "hours": "1"},
    {"action": "complete", "mail": "down"},
    {"action": "claim", "by": "c1", "text": "t", "remedy": "rework"},
    {
        "action": "request",
        "customer": "c1",
        "target": "shop.example",
        "problem": "p",
        "target_kind": "site",
    },
]


def _file(step: dict[str, object]) -> dict[str, object]:
    return {
        "name": "n",
        "customers": [{"id": "c1", "sites": ["shop.example"]}],
        "steps": [{"at": "2026-03-02T10:00:00+03:00", "order": "o1", **step}],
    }


@pytest.mark.parametrize("step", V2_ONLY_STEPS, ids=lambda step: str(step["action"]))
def test_version_two_accepts_what_version_one_did_not(step: dict[str, object]) -> None:
    """The version-1 schema is published as released: it refuses what version 2 added."""
    document = _file(step)
    assert not validator(SCENARIO_SCHEMA_V1).is_valid(document)
    assert validator(SCENARIO_SCHEMA).is_valid(document)


def test_every_suite_file_version_one_accepts_version_two_accepts() -> None:
    """Version 2 is a superset: a version-1 file still runs (and many suite files are one)."""
    files = [
        json.loads(p.read_text(encoding="utf-8")) for p in (SUITE / "scenarios").glob("*.json")
    ]
    v1 = [document for document in files if validator(SCENARIO_SCHEMA_V1).is_valid(document)]
    assert len(v1) > len(files) // 3
    assert all(validator(SCENARIO_SCHEMA).is_valid(document) for document in v1)


def test_the_schemas_ids_end_in_their_version() -> None:
    assert schema(SCENARIO_SCHEMA)["$id"].endswith(":2")
    assert schema(RESULT_SCHEMA)["$id"].endswith(":2")
    assert schema(SCENARIO_SCHEMA_V1)["$id"].endswith(":1")
    assert schema(RESULT_SCHEMA_V1)["$id"].endswith(":1")
