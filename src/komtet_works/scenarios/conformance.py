"""Checking another implementation against the suite, field by field.

The program under test is run once per suite scenario, with the scenario file's path as
its last argument; what it prints is compared with the expected result.  Every field of
the expected result counts, except `message` (for people) and the optional fields of
`OPTIONAL_FIELDS`, which count only when the program prints them.  Fields the program
adds are ignored.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Final, TextIO

import attrs

from komtet_works.domain.errors import InvalidInput

#: The suite shipped in the package: `scenarios/NAME.json` and `expected/NAME.json`.
SUITE: Final = Path(__file__).parent / "suite"

#: Never compared: text for people.
UNCOMPARED_FIELDS: Final = frozenset({"message"})
#: Compared only when the program under test prints them.
OPTIONAL_FIELDS: Final = frozenset(
    {
        "claim_deadline",
        "discount_reason",
        "due",
        "history",
        "issued_at",
        "payable_until",
        "tariff_version",
    }
)

#: Instants: equal when they name the same instant, whatever offset each is written in.
INSTANT_FIELDS: Final = frozenset({"claim_deadline", "due", "issued_at", "payable_until"})

#: Seconds one run of the program under test may take.
DEFAULT_TIMEOUT: Final = 60.0

_MISSING: Final = object()


@attrs.frozen
class Case:
    """One suite scenario: its file and the file of its expected result."""

    name: str
    scenario: Path
    expected: Path


@attrs.frozen
class Difference:
    """The first field where a result differs from the expected one."""

    path: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.path}: expected {_shown(self.expected)}, got {_shown(self.actual)}"


@attrs.frozen
class Outcome:
    """How one scenario went: passed when `problem` is None."""

    case: Case
    problem: str | None

    @property
    def passed(self) -> bool:
        return self.problem is None


def suite_cases(root: Path = SUITE) -> list[Case]:
    """The scenarios of a suite directory, by file name."""
    return [
        Case(path.stem, path, root / "expected" / path.name)
        for path in sorted((root / "scenarios").glob("*.json"))
    ]


def differences(
    expected: object,
    actual: object,
    *,
    optional: frozenset[str] = OPTIONAL_FIELDS,
    path: str = "",
) -> Iterator[Difference]:
    """Every difference of `actual` from `expected`, in the order of the expected document.

    JSON types must match too: ``"1600.00"`` is not ``1600``, ``1`` is not ``true``.
    The fields of `INSTANT_FIELDS` compare as instants: ``12:00:00Z`` is ``15:00:00+03:00``.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield Difference(path or "the document", expected, actual)
            return
        for key, value in expected.items():
            if key in UNCOMPARED_FIELDS or (key in optional and key not in actual):
                continue
            yield from differences(
                value,
                actual.get(key, _MISSING),
                optional=optional,
                path=f"{path}.{key}" if path else key,
            )
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            yield Difference(path, expected, actual)
            return
        for index in range(max(len(expected), len(actual))):
            yield from differences(
                expected[index] if index < len(expected) else _MISSING,
                actual[index] if index < len(actual) else _MISSING,
                optional=optional,
                path=f"{path}[{index}]",
            )
    elif not _same(expected, actual, instant=path.rpartition(".")[2] in INSTANT_FIELDS):
        yield Difference(path, expected, actual)


def check(command: Sequence[str], case: Case, *, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Run `command` on the case's scenario file and compare what it prints."""
    if not case.expected.is_file():
        return Outcome(case, f"the suite has no expected result {case.expected}")
    try:
        done = subprocess.run(  # noqa: S603 - running the given program is the point
            [*command, str(case.scenario)], capture_output=True, timeout=timeout, check=False
        )
    except OSError as error:
        return Outcome(case, f"could not run {command[0]!r}: {error.strerror}")
    except subprocess.TimeoutExpired:
        return Outcome(case, f"printed no result within {timeout:g} s")
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["(nothing)"]
        return Outcome(case, f"exited with {done.returncode}; stderr: {lines[0]}")
    try:
        actual = json.loads(done.stdout)
    except ValueError as error:
        return Outcome(case, f"printed no JSON document: {error}")
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    first = next(differences(expected, actual), None)
    return Outcome(case, None if first is None else str(first))


def run_conformance(
    command: Sequence[str],
    out: TextIO,
    *,
    suite: Path = SUITE,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: TextIO | None = None,
) -> int:
    """Check `command` over the whole suite; print a report ending in a summary line; 0
    when every scenario passed.  With `progress` (a terminal), how far it has got."""
    cases = suite_cases(suite)
    if not cases:
        raise InvalidInput(f"no scenario files in {suite / 'scenarios'}", field="suite")
    workers = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = [pool.submit(check, command, case, timeout=timeout) for case in cases]
        for done, future in enumerate(as_completed(running), start=1):
            if progress is not None:  # one line, rewritten in place, gone at the end
                shown = f"{done}/{len(cases)}  {future.result().case.name}"
                progress.write(f"\r\x1b[K{shown}" if done < len(cases) else "\r\x1b[K")
                progress.flush()
        outcomes = [future.result() for future in running]
    for outcome in outcomes:
        if outcome.passed:
            print(f"PASS  {outcome.case.name}", file=out)
        else:
            print(f"FAIL  {outcome.case.name}\n      {outcome.problem}", file=out)
    failed = sum(not outcome.passed for outcome in outcomes)
    print(
        f"{len(outcomes) - failed} passed, {failed} failed, of {len(outcomes)} scenarios "
        f"in {suite}",
        file=out,
    )
    return 1 if failed else 0


def _same(expected: object, actual: object, *, instant: bool) -> bool:
    if type(expected) is not type(actual):
        return False
    if instant and isinstance(expected, str) and isinstance(actual, str):
        try:
            return datetime.fromisoformat(expected) == datetime.fromisoformat(actual)
        except ValueError:
            return expected == actual
    return expected == actual


def _shown(value: object) -> str:
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
