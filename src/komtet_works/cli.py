"""The `komtet-works` command line.

The core here builds the parser and turns refusals into one line on stderr.  Commands
come from the modules named in `COMMAND_MODULES`: each exposes ``register(subparsers)``,
which adds its subcommand and sets ``handler``, a function from the parsed arguments to
an exit code.  A new command is a new module named there; nothing else here changes.

Exit codes: 0 done, 2 bad input (``invalid_input``, and argparse's usage errors), 1 any
other refusal.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from komtet_works._version import __version__
from komtet_works.adapters.clock import SystemClock
from komtet_works.domain.errors import InvalidInput, KomtetWorksError
from komtet_works.domain.policy import Policy
from komtet_works.domain.pricing import Quote, Tariff, parse_hours, price
from komtet_works.wire import decimal_text, quote_json

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001

PROG: Final = "komtet-works"

#: The modules whose ``register(subparsers)`` add the subcommands, in help order.
COMMAND_MODULES: Final = (
    "komtet_works.cli",
    "komtet_works.demo",
    "komtet_works.scenarios.commands",
    "komtet_works.operator",
)

EXIT_REFUSED: Final = 1
EXIT_INVALID_INPUT: Final = 2

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Additional Works service of a hosting provider: pricing and lifecycle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(  # options go before the command, so the operator's is set here
        "--db",
        default="komtet-works.sqlite",
        metavar="PATH_OR_DSN",
        help="the database of the operator commands: a SQLite file (default %(default)s) "
        "or a postgresql:// DSN",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        register: Callable[[Subparsers], None] = importlib.import_module(name).register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code.  Refusals never show a traceback."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage or the help
        return exit_.code if isinstance(exit_.code, int) else EXIT_INVALID_INPUT
    handler: Handler = arguments.handler
    try:
        return handler(arguments)
    except KomtetWorksError as error:
        print(error_line(error), file=sys.stderr)
        return EXIT_INVALID_INPUT if isinstance(error, InvalidInput) else EXIT_REFUSED


def error_line(error: KomtetWorksError) -> str:
    """``komtet-works: error: <code>: <message>``, on one line whatever the message holds."""
    message = " ".join(error.message.split())
    return f"{PROG}: error: {error.code}: {message}"


# --- quote --------------------------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """The commands of this module: `quote`."""
    quote = subparsers.add_parser(
        "quote",
        help="price an estimate with the seed tariff",
        description="Price an estimate of working hours with the seed tariff.",
    )
    quote.add_argument(
        "--hours", required=True, help="the estimated working hours, a decimal such as 2.5"
    )
    quote.add_argument(
        "--maintenance",
        action="store_true",
        help="the site is under an active Site Maintenance subscription (20%% discount)",
    )
    quote.add_argument("--json", action="store_true", help="print the quote as one JSON document")
    quote.set_defaults(handler=run_quote)


def run_quote(arguments: argparse.Namespace) -> int:
    quote = price(
        Tariff(),
        parse_hours(arguments.hours),
        maintained_site=arguments.maintenance,
        issued_at=SystemClock().now(),
        valid_for=Policy().quote_valid_for,
    )
    if arguments.json:
        print(json.dumps(quote_json(quote), indent=2))
    else:
        print("\n".join(quote_breakdown(quote)))
    return 0


def quote_breakdown(quote: Quote) -> list[str]:
    """A quote as aligned lines of text, one figure a line, for people to read."""
    reason = quote.discount_reason or "none applies"
    rows = (
        ("hours as estimated", decimal_text(quote.hours)),
        ("billable hours", decimal_text(quote.billable_hours)),
        ("rate", f"{quote.rate} per hour"),
        ("gross", str(quote.gross)),
        ("discount", f"{quote.discount} ({reason})"),
        ("total", str(quote.total)),
        ("currency", quote.currency),
        ("tariff version", quote.tariff_version),
        ("payable until", quote.payable_until.isoformat()),
    )
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}}  {value}" for label, value in rows]
