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
from typing import TYPE_CHECKING, Final, NoReturn, cast

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
#: The options before the command that take a value.
_GLOBAL_OPTIONS: Final = ("--db", "--config")

EXIT_REFUSED: Final = 1
EXIT_INVALID_INPUT: Final = 2

Handler = Callable[[argparse.Namespace], int]


class UsageError(InvalidInput):
    """The command line itself is wrong: an unknown option, a missing one, a bad value."""


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints raised as `UsageError` (one line, like every refusal)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`, if there is one before any option but the global ones."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_OPTIONS:
            next(words, None)
        elif not word.startswith(tuple(f"{option}=" for option in _GLOBAL_OPTIONS)):
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
    words = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in words
    try:
        _refuse_undecodable(words)
        arguments = build_parser(command_in(words)).parse_args(words)
        as_json = getattr(arguments, "json", False)
        handler: Handler = arguments.handler
        return handler(arguments)
    except SystemExit as exit_:  # argparse has printed the help or the version
        return exit_.code if isinstance(exit_.code, int) else EXIT_INVALID_INPUT
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
