"""The commands `komtet-works scenario` and `komtet-works conformance`.

Exit codes of `scenario`: 0 every scenario ran (refused steps included), 2 a file is not a
valid scenario (one line per file on stderr, naming the file, the step and the field), 1
an internal error.  `conformance` exits 0 when every suite scenario passed, 1 otherwise,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from komtet_works.entrypoints.cli import UsageError
from komtet_works.scenarios.conformance import DEFAULT_TIMEOUT, SUITE, run_conformance
from komtet_works.scenarios.export import export_suite
from komtet_works.scenarios.loading import Scenario, ScenarioFileError, load_scenario
from komtet_works.scenarios.runner import run_scenario

if TYPE_CHECKING:
    from komtet_works.entrypoints.cli import Subparsers

T = TypeVar("T", int, float)

EXIT_INTERNAL_ERROR: Final = 1
EXIT_INVALID_FILE: Final = 2


def register(subparsers: Subparsers) -> None:
    """The commands of this module: `scenario` and `conformance`."""
    scenario = subparsers.add_parser(
        "scenario",
        help="run scenario files through the library and print the results as JSON",
        description=(
            "Run scenario files through the library (in-memory adapters, a clock set from "
            "each step's time) and print one JSON result document."
        ),
    )
    scenario.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="a scenario file; - reads stdin"
    )
    scenario.set_defaults(handler=scenario_command)

    conformance = subparsers.add_parser(
        "conformance",
        help="check another implementation against the conformance suite, or export it",
        description=(
            "Run COMMAND with each suite scenario's path as its last argument and compare "
            "what it prints with the expected result, field by field; or export the suite."
        ),
    )
    conformance.add_argument(
        "--export", type=Path, metavar="DIR", help="write the suite into DIR instead"
    )
    conformance.add_argument(
        "--suite", type=Path, default=SUITE, metavar="DIR", help="an exported suite to use"
    )
    conformance.add_argument(
        "--jobs", type=_positive(int), default=None, metavar="N", help="scenarios run at once"
    )
    conformance.add_argument(
        "--timeout",
        type=_positive(float),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="time one run may take (default %(default)g)",
    )
    conformance.add_argument(
        "command", nargs="*", metavar="COMMAND", help="the program to check, after --"
    )
    conformance.set_defaults(handler=conformance_command)


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type: a number of `kind` above zero."""

    def parse(text: str) -> T:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be a finite number above zero: {text!r}")
        return value

    return parse


def scenario_command(arguments: argparse.Namespace) -> int:
    """Check every file first; run them only if all are valid scenarios."""
    scenarios: list[Scenario] = []
    invalid = 0
    for path in arguments.files:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioFileError as error:
            print(f"komtet-works scenario: {error}", file=sys.stderr)
            invalid += 1
    if invalid:
        return EXIT_INVALID_FILE
    try:
        result = {"scenarios": [run_scenario(scenario) for scenario in scenarios]}
    except Exception:  # noqa: BLE001 - anything else is a bug, and exit 1 says so
        traceback.print_exc()
        print("komtet-works scenario: internal error (a bug: please report it)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def conformance_command(arguments: argparse.Namespace) -> int:
    if (arguments.export is None) == (not arguments.command):
        raise UsageError("conformance: give either -- COMMAND... or --export DIR")
    if arguments.export is not None:
        count = export_suite(arguments.export, suite=arguments.suite)
        print(f"exported {count} scenarios to {arguments.export}")
        return 0
    return run_conformance(
        arguments.command,
        sys.stdout,
        suite=arguments.suite,
        jobs=arguments.jobs,
        timeout=arguments.timeout,
        progress=sys.stderr if sys.stderr.isatty() else None,
    )
