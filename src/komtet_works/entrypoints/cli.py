"""The `komtet-works` command line.

The core here builds the parser and turns refusals into one line on stderr (or, with
``--json``, one JSON document on stdout).  Commands come from the modules named in
`COMMAND_MODULES`: each exposes ``register(subparsers)``, which adds its subcommand and
sets ``handler``, a function from the parsed arguments to an exit code.  Only the module
of the command asked for is imported (`modules_for`): `komtet-works quote` does not load
the stores, the mail, the templates or the scenario suite's schemas.

Exit codes: 0 done, 2 bad input (``invalid_input``, and argparse's usage errors), 1 any
other refusal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from komtet_works._version import __version__
from komtet_works.domain.errors import InvalidInput, KomtetWorksError
from komtet_works.entrypoints.presenters import PROG, error_json, error_line, show

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001

#: The modules whose ``register(subparsers)`` add the subcommands, in help order, each with
#: the commands it adds; the last, the operator's, adds every other one.
COMMAND_MODULES: Final[dict[str, tuple[str, ...] | None]] = {
    "komtet_works.entrypoints.quote": ("quote",),
    "komtet_works.entrypoints.demo": ("demo",),
    "komtet_works.entrypoints.scenarios": ("scenario", "conformance"),
    "komtet_works.entrypoints.operations": None,
}

#: The environment variable naming the operator commands' database.
DATABASE_VARIABLE: Final = "KOMTET_WORKS_DB"
DEFAULT_DATABASE: Final = "komtet-works.sqlite"

EXIT_REFUSED: Final = 1
EXIT_INVALID_INPUT: Final = 2

Handler = Callable[[argparse.Namespace], int]


def command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`, if there is one before any option but ``--db``."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("--db="):
            return None if word.startswith("-") else word
    return None


def modules_for(command: str | None) -> tuple[str, ...]:
    """The command modules to import for `command`: the one naming it, else the one adding
    every other command; all of them when there is no command, to list them all."""
    if command is None:
        return tuple(COMMAND_MODULES)
    named = [name for name, commands in COMMAND_MODULES.items() if command in (commands or ())]
    return tuple(named or [name for name, commands in COMMAND_MODULES.items() if not commands])


def _register(module: str, subparsers: Subparsers) -> None:
    register: Callable[[Subparsers], None] = importlib.import_module(module).register
    register(subparsers)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of `command` (with only its module's commands), or of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Additional Works service of a hosting provider: pricing and lifecycle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(  # options go before the command, so the operator's is set here
        "--db",
        default=None,
        metavar="PATH_OR_DSN",
        help=f"the database of the operator commands: a SQLite file or a postgresql:// DSN "
        f"(default: ${DATABASE_VARIABLE}, else {DEFAULT_DATABASE})",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    first = modules_for(command)
    for module in first:
        _register(module, subparsers)
    if command is not None and command not in subparsers.choices:  # unknown: offer them all
        for module in COMMAND_MODULES:
            if module not in first:
                _register(module, subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code.  Refusals never show a traceback."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(command_in(words))
    try:
        arguments = parser.parse_args(words)
    except SystemExit as exit_:  # argparse has printed the usage or the help
        return exit_.code if isinstance(exit_.code, int) else EXIT_INVALID_INPUT
    if arguments.db is None:
        arguments.db = os.environ.get(DATABASE_VARIABLE) or DEFAULT_DATABASE
    handler: Handler = arguments.handler
    try:
        return handler(arguments)
    except KomtetWorksError as error:
        if getattr(arguments, "json", False):
            show(error_json(error), [], as_json=True)
        else:
            print(error_line(error), file=sys.stderr)
        return EXIT_INVALID_INPUT if isinstance(error, InvalidInput) else EXIT_REFUSED
