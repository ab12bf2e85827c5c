"""Reading a scenario file: its size, its JSON, the schema, then what the schema cannot judge.

A file that fails any of these is not a scenario.  `ScenarioFileError` says so in one line
naming the file, the step and the field, and nothing of the file runs.  The values of a
step's fields (hours, amounts, texts) are not judged here: the rules judge them when the
step runs, and a step the rules refuse is part of a valid scenario.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import pendulum
from jsonschema.exceptions import ValidationError, best_match, by_relevance

from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.money import Money
from komtet_works.domain.policy import ClaimWindowMeasure, Policy, PriceLock, SpentHours
from komtet_works.domain.pricing import HoursRounding, Tariff
from komtet_works.scenarios.schemas import SCENARIO_SCHEMA, validator

#: Larger files are refused before they are parsed: 1 MiB holds thousands of steps.
MAX_FILE_BYTES: Final = 1024 * 1024
#: The path that stands for the standard input, as in most Unix tools.
STDIN: Final = Path("-")

_DURATION: Final = re.compile(
    r"P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)

T = TypeVar("T")

#: Of several problems at one place, an unknown field is told first: it is most often a typo
#: that also makes a required field look missing.
_RELEVANCE: Final = by_relevance(strong=frozenset({"additionalProperties"}))

_JSON_KINDS: Final = {
    bool: "the JSON boolean",
    int: "the JSON number",
    float: "the JSON number",
    str: "the string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


class ScenarioFileError(InvalidInput):
    """A file that is not a valid scenario; the message names the file, step and field."""


class _NotJson(Exception):
    """Raised by the JSON parser's hooks; becomes a `ScenarioFileError`."""


@attrs.frozen
class Step:
    """One timed step; `fields` holds the action's own fields, `due` already an instant."""

    at: pendulum.DateTime
    action: str
    order: str
    fields: Mapping[str, Any]


@attrs.frozen
class Scenario:
    """A valid scenario: everything it needs to run, read and checked."""

    name: str
    tariff: Tariff
    policy: Policy
    customers: tuple[Customer, ...]
    steps: tuple[Step, ...]


def load_scenario(path: Path) -> Scenario:
    """Read and check the scenario file at `path` (`STDIN`: the standard input); raise
    `ScenarioFileError` if it is not one."""
    source = "<stdin>" if path == STDIN else str(path)
    return parse_scenario(read_json(path, source=source), source=source)


def read_json(path: Path, *, source: str) -> object:
    """The JSON document in `path`: at most `MAX_FILE_BYTES`, UTF-8, no repeated keys, no NaN."""
    try:
        if path == STDIN:
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with path.open("rb") as file:
                data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioFileError(f"{source}: cannot read the file: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioFileError(
            f"{source}: the file is larger than the limit of {MAX_FILE_BYTES} bytes (1 MiB)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioFileError(f"{source}: not UTF-8 text (byte {error.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ScenarioFileError(
            f"{source}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (_NotJson, ValueError) as error:
        raise ScenarioFileError(f"{source}: not valid JSON: {error}") from None
    except RecursionError:
        raise ScenarioFileError(f"{source}: not valid JSON: nested too deeply") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        repeated = next(key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1)
        raise _NotJson(f"the field {json.dumps(repeated)} appears twice in one object")
    return document


def _no_constant(constant: str) -> object:
    raise _NotJson(f"{constant} is not a JSON value")


def parse_scenario(document: object, *, source: str) -> Scenario:
    """Check a parsed document against the scenario schema and the rules of its setup."""
    error = best_match(validator(SCENARIO_SCHEMA).iter_errors(document), key=_RELEVANCE)
    if error is not None:
        raise ScenarioFileError(f"{source}: {_explain(error, document)}")
    checked: dict[str, Any] = document  # type: ignore[assignment]  # the schema says so
    return Scenario(
        name=checked["name"],
        tariff=_setup(source, "tariff", _tariff, checked.get("tariff", {})),
        policy=_setup(source, "policy", _policy, checked.get("policy", {})),
        customers=_customers(source, checked["customers"]),
        steps=tuple(_step(source, index, step) for index, step in enumerate(checked["steps"])),
    )


# --- what the schema cannot judge ---------------------------------------------------------


def _setup(
    source: str, part: str, build: Callable[[Mapping[str, Any]], T], fields: Mapping[str, Any]
) -> T:
    """Build the tariff or the policy; a value the domain refuses makes the file invalid."""
    try:
        return build(fields)
    except InvalidInput as error:
        field = f"{part}.{error.field}" if error.field else part
        raise ScenarioFileError(f'{source}: field "{field}": {error}') from None


def _tariff(fields: Mapping[str, Any]) -> Tariff:
    seed = Tariff()
    changes: dict[str, Any] = {
        name: None if fields[name] is None else Decimal(fields[name])
        for name in ("minimum_hours", "billing_increment", "maintenance_discount")
        if name in fields
    }
    if "version" in fields:
        changes["version"] = fields["version"]
    if "hourly_rate" in fields or "currency" in fields:
        changes["hourly_rate"] = Money.of(
            fields.get("hourly_rate", seed.hourly_rate.amount),
            fields.get("currency", seed.hourly_rate.currency),
            field="hourly_rate",
        )
    if "hours_rounding" in fields:
        changes["hours_rounding"] = HoursRounding(fields["hours_rounding"])
    return attrs.evolve(seed, **changes)


def _policy(fields: Mapping[str, Any]) -> Policy:
    changes: dict[str, Any] = {
        name: fields[name]
        for name in (
            "provider_timezone",
            "max_claims",
            "cancel_before_start",
            "refund_unapplied",
            "claims_may_be_rejected",
        )
        if name in fields
    }
    for name in ("claim_window", "quote_valid_for"):
        if name in fields:
            changes[name] = _duration(fields[name])
    if "claim_window_measure" in fields:
        changes["claim_window_measure"] = ClaimWindowMeasure(fields["claim_window_measure"])
    if "price_lock" in fields:
        changes["price_lock"] = PriceLock(fields["price_lock"])
    if "spent_hours" in fields:
        changes["spent_hours"] = _spent_hours(fields["spent_hours"])
    return attrs.evolve(Policy(), **changes)


def _spent_hours(value: object) -> SpentHours:
    """Decision D-OVERRUN's option by its value: any member of `SpentHours`, so an option
    added there is accepted here with no change."""
    try:
        return SpentHours(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in SpentHours)
        raise InvalidInput(
            f"unknown spent_hours {value!r}; one of {known}", field="spent_hours"
        ) from None


def _duration(text: str) -> timedelta:
    """An ISO 8601 duration the schema's pattern has let through: days to seconds."""
    match = _DURATION.fullmatch(text)
    if match is None:  # pragma: no cover - the schema's pattern is the same
        raise InvalidInput(f"{text!r} is not a duration")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def _customers(source: str, entries: Sequence[Mapping[str, Any]]) -> tuple[Customer, ...]:
    customers: dict[str, Customer] = {}
    for index, entry in enumerate(entries):
        customer_id = entry["id"]
        if customer_id in customers:
            raise ScenarioFileError(
                f'{source}: field "customers[{index}].id": '
                f"customer {json.dumps(customer_id)} is listed twice"
            )
        sites = frozenset(entry.get("sites", ()))
        maintained = frozenset(entry.get("maintenance", ()))
        stray = sorted(maintained - sites)
        if stray:
            raise ScenarioFileError(
                f'{source}: field "customers[{index}].maintenance": '
                f"{json.dumps(stray[0])} is not one of the customer's sites"
            )
        customers[customer_id] = Customer(
            customer_id,
            sites=sites,
            servers=frozenset(entry.get("servers", ())),
            maintained_sites=maintained,
        )
    return tuple(customers.values())


def _step(source: str, index: int, entry: Mapping[str, Any]) -> Step:
    fields = {name: value for name, value in entry.items() if name not in _COMMON}
    if "due" in fields:
        fields["due"] = _instant(source, index, entry, "due")
    return Step(
        at=_instant(source, index, entry, "at"),
        action=entry["action"],
        order=entry["order"],
        fields=fields,
    )


_COMMON: Final = frozenset({"at", "action", "order"})


def _instant(source: str, index: int, entry: Mapping[str, Any], field: str) -> pendulum.DateTime:
    """An instant the schema's pattern has let through (so with an offset), if it exists."""
    text = entry[field]
    try:
        return pendulum.instance(datetime.fromisoformat(text))
    except ValueError as error:
        where = _where(["steps", index, field], entry["action"])
        raise ScenarioFileError(
            f"{source}: {where}: {json.dumps(text)} is not a real instant ({error})"
        ) from None


# --- explaining what the schema refused ---------------------------------------------------


def _explain(error: ValidationError, document: object) -> str:
    """One line: where in the file (step index, field) and what is wrong there."""
    path: list[str | int] = list(error.absolute_path)
    instance: Any = error.instance
    subschema: Any = error.schema
    value: Any = error.validator_value
    rule = error.validator
    if rule == "required":
        path.append(next(name for name in value if name not in instance))
        problem = "missing"
    elif rule == "additionalProperties":
        known = subschema["properties"]
        path.append(next(name for name in instance if name not in known))
        problem = f"unknown field (the fields here are: {', '.join(known)})"
    elif rule == "enum":
        choices = ", ".join(json.dumps(choice) for choice in value)
        problem = f"expected one of {choices}; got {_shown(instance)}"
    elif rule in ("type", "pattern"):
        kind = subschema.get("type", "value")
        wanted = (
            f"a JSON {kind}"
            if kind in ("object", "array")
            else subschema.get("description", f"a JSON {kind}")
        )
        problem = f"expected {wanted}; got {_shown(instance)}"
    elif rule == "minLength":
        problem = "must not be empty"
    elif rule == "minItems":
        problem = f"needs at least {value} item(s)"
    elif rule == "uniqueItems":
        problem = "lists the same name twice"
    else:
        problem = error.message
    return f"{_where(path, _action(document, path))}: {problem}"


def _action(document: object, path: Sequence[str | int]) -> object:
    """The action of the step `path` leads into, if it leads into one that has an action."""
    if len(path) < 2 or path[0] != "steps" or not isinstance(document, dict):
        return None
    steps, index = document["steps"], path[1]
    step = steps[index] if isinstance(steps, list) and isinstance(index, int) else None
    return step.get("action") if isinstance(step, dict) else None


def _where(path: Sequence[str | int], action: object) -> str:
    """`steps[3] (estimate), field "hours"`, `field "tariff.currency"`, or `the document`."""
    if not path:
        return "the document"
    if path[0] == "steps" and len(path) > 1:
        place = f"steps[{path[1]}]" + (f" ({action})" if isinstance(action, str) else "")
        rest = path[2:]
        return f'{place}, field "{_dotted(rest)}"' if rest else place
    return f'field "{_dotted(path)}"'


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _shown(value: object) -> str:
    kind = _JSON_KINDS.get(type(value), "a value")
    if isinstance(value, dict | list):
        return kind
    shown = json.dumps(value)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"
