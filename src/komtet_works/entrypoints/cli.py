"""The `komtet-works` command line.

The core here builds the parser and turns refusals into one line on stderr (or, with
``--json``, one JSON document on stdout).  Commands come from the modules named in
`COMMAND_MODULES`: each exposes ``register(subparsers)``, which adds its subcommand and
sets ``handler``, a function from the parsed arguments to an exit code.

Exit codes: 0 done, 2 bad input (``invalid_input``, and argparse's usage errors), 1 any
other refusal.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, NoReturn, cast

from komtet_works._version import __version__
from komtet_works.domain.errors import InvalidInput, KomtetWorksError
from komtet_works.entrypoints.presenters import PROG, error_json, error_line, show

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001

#: The modules whose ``register(subparsers)`` add the subcommands, in help order.
COMMAND_MODULES: Final = (
    "komtet_works.entrypoints.quote",
    "komtet_works.entrypoints.demo",
    "komtet_works.entrypoints.scenarios",
    "komtet_works.entrypoints.operations",
)

EXIT_REFUSED: Final = 1
EXIT_INVALID_INPUT: Final = 2

Handler = Callable[[argparse.Namespace], int]


class UsageError(InvalidInput):
    """The command line itself is wrong: an unknown option, a missing one, a bad value."""


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints raised as `UsageError` (one line, like every refusal)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="The Additional Works service of a hosting provider: pricing and lifecycle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(  # options go before the command, so the operator's is set here
        "--db",
        default=None,
        metavar="PATH_OR_DSN",
        help="the database of the operator commands: a SQLite file or a postgresql:// DSN "
        "(default: $KOMTET_WORKS_DB, else the configuration file's, else komtet-works.sqlite)",
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help="a TOML file of the operator commands' settings (default: $KOMTET_WORKS_CONFIG); "
        "a flag wins over its environment variable, which wins over the file",
    )
    subparsers = cast(  # each a `Parser` too: argparse makes them of the parent's class
        "Subparsers", parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    )
    for name in COMMAND_MODULES:
        register: Callable[[Subparsers], None] = importlib.import_module(name).register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code.  Refusals never show a traceback."""
    words = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in words
    try:
        _refuse_undecodable(words)
        arguments = build_parser().parse_args(words)
        as_json = getattr(arguments, "json", False)
        handler: Handler = arguments.handler
        return handler(arguments)
    except SystemExit as exit_:  # argparse has printed the help or the version
        return exit_.code if isinstance(exit_.code, int) else EXIT_INVALID_INPUT
    except KomtetWorksError as error:
        if as_json:
            show(error_json(error), [], as_json=True)
        else:
            print(error_line(error), file=sys.stderr)
        return EXIT_INVALID_INPUT if isinstance(error, InvalidInput) else EXIT_REFUSED


def _refuse_undecodable(words: Sequence[str]) -> None:
    """Bytes that are not UTF-8 reach `sys.argv` as lone surrogates; no store can keep them."""
    for word in words:
        try:
            word.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"an argument is not valid UTF-8: {word!r}") from None
