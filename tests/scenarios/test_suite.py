"""The conformance suite: every scenario gives its expected result, and every rule has one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from komtet_works.domain.lifecycle import State
from komtet_works.entrypoints.cli import main
from komtet_works.scenarios.conformance import SUITE, Case, differences, suite_cases
from komtet_works.scenarios.runner import ACTIONS
from komtet_works.scenarios.schemas import RESULT_SCHEMA, SCENARIO_SCHEMA, schema, validator

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
CASES = suite_cases()
#: A rule's heading in docs/spec.md: `### P2 — Minimum term`.
RULE_HEADING = re.compile(r"^### ([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*) — ", re.MULTILINE)
#: Rules of the adapters, not of the service a scenario file drives: a scenario runs on the
#: in-memory notifier and a fixed weekly calendar (docs/scenarios.md), so the notices' words
#: and mail (N1-N3), the relay (N4-N6, D-RELAY-RETRIES) and the Russian production calendar
#: are proved by their adapters' tests.
ADAPTER_RULES = frozenset(
    {"N1", "N2", "N3", "N4", "N5", "N6", "D-RELAY-RETRIES", "D-BUSINESS-CALENDAR"}
)
#: Rules the scenario contract has no step for: no scenario can give a target to another
#: customer between steps (T2 is proved through the use cases and the operator's shell).
UNSHOWABLE_RULES = frozenset({"T2"})
#: A suite scenario's name starts with the rule IDs it exercises: `[P2 P3] ...`.
NAMED_RULES = re.compile(r"^\[([A-Z0-9 -]+)\] \S")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


#: Where docs/spec.md's rules of the adapters begin: no scenario can exercise those.
ADAPTER_DECISIONS = "\n## Adapter decisions\n"


def spec_rules() -> set[str]:
    """The rule IDs of docs/spec.md that the scenarios speak of: all but the adapters'."""
    service, _, _ = SPEC.read_text(encoding="utf-8").partition(ADAPTER_DECISIONS)
    return set(RULE_HEADING.findall(service))


def named_rules(case: Case) -> list[str]:
    match = NAMED_RULES.match(load(case.scenario)["name"])
    return match.group(1).split() if match else []


@pytest.mark.rule(
    "M1", "M2", "M3", "M4", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8",
    "L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L10", "L11", "L12", "L13", "L14",
    "I1", "I2", "I3", "I4", "C1", "C2", "C3", "C4", "C5", "E1", "E2", "E3", "E4",
    "D-INCREMENT", "D-MONEY-ROUNDING", "D-OVERRUN", "D-DISCOUNT-STACKING", "D-PRICE-LOCK",
    "D-QUOTE-VALIDITY", "D-CLAIM-WINDOW", "D-CLOCK", "D-CHANGES", "D-CLAIMS",
    "D-CANCELLATION", "D-BACKUP-FAILURE", "D-RESTORE",
    "K1", "K2", "K3", "K4", "K5", "W1", "D-UNAPPLIED", "T1", "T3",
    "H1",
    "H2",
)  # fmt: skip
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_suite_scenario_gives_its_expected_result(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    """`komtet-works scenario` prints the expected result, every field but the messages."""
    assert 0 == main(["scenario", str(case.scenario)])
    actual = json.loads(capsys.readouterr().out)
    expected = load(case.expected)
    assert [] == [str(d) for d in differences(expected, actual, optional=frozenset())]


def test_the_suite_holds_at_least_sixty_scenarios_each_with_its_expected_result() -> None:
    """Sixty scenarios or more, and an expected result for each, none left over."""
    expected = {path.stem for path in (SUITE / "expected").glob("*.json")}
    assert len(CASES) >= 60
    assert {case.name for case in CASES} == expected


def test_every_rule_of_the_spec_is_exercised_by_a_scenario() -> None:
    """Each rule ID with a heading in docs/spec.md, but the adapters', is named by at least
    one suite scenario."""
    named = {rule for case in CASES for rule in named_rules(case)}
    rules = spec_rules()
    assert len(rules) >= 40
    assert ADAPTER_RULES <= rules
    assert set() == rules - ADAPTER_RULES - UNSHOWABLE_RULES - named


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_scenario_names_the_rules_it_exercises(case: Case) -> None:
    """A suite scenario's name starts with `[IDs]`, each one a rule of docs/spec.md."""
    rules = named_rules(case)
    assert rules
    assert set() == set(rules) - spec_rules()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_expected_results_follow_the_result_schema(case: Case) -> None:
    """Each expected result is a valid result document of one scenario."""
    expected = load(case.expected)
    assert [] == [error.message for error in validator(RESULT_SCHEMA).iter_errors(expected)]
    assert 1 == len(expected["scenarios"])


def test_the_schemas_are_valid_draft_2020_12_schemas() -> None:
    """Both shipped schemas are themselves valid JSON Schemas of draft 2020-12."""
    for name in (SCENARIO_SCHEMA, RESULT_SCHEMA):
        Draft202012Validator.check_schema(schema(name))
        assert "https://json-schema.org/draft/2020-12/schema" == schema(name)["$schema"]


def test_the_schemas_know_every_action_and_every_state() -> None:
    """The scenario schema's actions are the runner's; the result schema's states the domain's."""
    actions = schema(SCENARIO_SCHEMA)["$defs"]["step"]["properties"]["action"]["enum"]
    states = schema(RESULT_SCHEMA)["$defs"]["state"]["enum"]
    assert set(ACTIONS) == set(actions)
    assert {state.value for state in State} == set(states)
