"""What each entry point imports: the quote and the bare package load no heavy dependency."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from komtet_works.entrypoints import cli

#: What a quote needs none of: the drivers, the templates and locales, the calendar, the
#: schema validator, the mail, the stores, and logging (a quote logs nothing).
HEAVY: Final = (
    "babel",
    "holidays",
    "hypothesis",
    "jinja2",
    "jsonschema",
    "logging",
    "psycopg",
    "smtplib",
    "sqlite3",
    "komtet_works.adapters.mail",
    "komtet_works.adapters.notices",
    "komtet_works.adapters.russian_calendar",
    "komtet_works.adapters.sql",
    "komtet_works.adapters.sqlite",
    "komtet_works.bootstrap",
    "komtet_works.scenarios",
    "komtet_works.use_cases",
)


#: What a quote needs none of either: the order's model and its events, the ports of the
#: stores and the notices, the relay.
ORDER_MODEL: Final = (
    "komtet_works.domain.events",
    "komtet_works.domain.work_order",
    "komtet_works.ports.notifications",
    "komtet_works.ports.work_orders",
    "komtet_works.relay",
    "pendulum.locales.en.locale",  # the human breakdown's local time: not shown with --json
)


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (which prints nothing)."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return set(modules)


def test_the_quote_command_imports_no_heavy_module() -> None:
    """`komtet-works quote --hours 2 --json` prices without loading any module of HEAVY."""
    modules = imported_after(
        "import contextlib, io\n"
        "from komtet_works.entrypoints.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['quote', '--hours', '2', '--json']) == 0"
    )
    assert [] == sorted(modules & {*HEAVY, *ORDER_MODEL})


def test_importing_the_package_loads_none_of_its_modules() -> None:
    """`import komtet_works` loads no HEAVY module, and of its own only the version and the
    helper importing the rest on first use."""
    modules = imported_after("import komtet_works")
    assert [] == sorted(modules & set(HEAVY))
    ours = {m for m in modules if m.startswith("komtet_works.")}
    assert {"komtet_works._lazy", "komtet_works._version"} == ours


def test_the_relay_is_the_function_after_its_module_was_imported() -> None:
    """`komtet_works.relay` is the function even when the module of that name loads first."""
    imported_after(
        "import komtet_works.relay\n"
        "from komtet_works import relay\n"
        "assert relay is komtet_works.relay is komtet_works.relay.__globals__['relay']\n"
        "assert callable(relay) and relay.__module__ == 'komtet_works.relay'"
    )


def test_a_module_that_logs_brings_the_package_its_null_handler() -> None:
    """Logging is not imported with the package, but the first module that logs gives the
    package's logger its NullHandler: no warning of ours reaches stderr uninvited."""
    imported_after(
        "import logging\n"
        "import komtet_works.relay\n"
        "handlers = logging.getLogger('komtet_works').handlers\n"
        "assert [logging.NullHandler] == [type(h) for h in handlers], handlers"
    )


def test_every_module_takes_its_logger_from_the_package_helper() -> None:
    """No module but komtet_works/_logging.py calls logging.getLogger: each takes its logger
    from `komtet_works._logging.logger`, which gives the package its NullHandler first."""
    package = Path(cli.__file__).parent.parent
    calling = {
        path.relative_to(package).as_posix()
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "getLogger"
    }
    assert {"_logging.py"} == calling


@pytest.mark.parametrize("package", ["komtet_works", "komtet_works.ports", "komtet_works.adapters"])
def test_every_lazy_name_is_the_object_its_module_defines(package: str) -> None:
    """Each name of a package's __all__ is the very object its defining module holds."""
    module = importlib.import_module(package)
    homes: dict[str, str] = module._HOMES
    assert sorted(set(module.__all__) - {"__version__"}) == sorted(homes)
    assert [] == [
        name
        for name, home in homes.items()
        if getattr(module, name) is not getattr(importlib.import_module(f"{package}.{home}"), name)
    ]


@pytest.mark.parametrize(
    ("package", "name"),
    [("komtet_works", "WorkOrderService"), ("komtet_works.adapters", "SqliteWorkOrders")],
)
def test_a_lazy_name_is_the_object_its_module_defines(package: str, name: str) -> None:
    """A name imported on first use is the very object of its defining module."""
    exported = getattr(importlib.import_module(package), name)
    assert exported.__name__ == name
    assert exported is getattr(importlib.import_module(exported.__module__), name)


@pytest.mark.parametrize("package", ["komtet_works", "komtet_works.adapters"])
def test_every_public_name_resolves(package: str) -> None:
    """Every name of a package's __all__ resolves; an unknown one is an AttributeError."""
    module = importlib.import_module(package)
    assert [] == [name for name in module.__all__ if getattr(module, name, None) is None]
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(module, "no_such_name")  # noqa: B009 - the lookup under test


@pytest.mark.parametrize(("module", "commands"), list(cli.COMMAND_MODULES.items()))
def test_each_command_module_adds_the_commands_the_cli_names(
    module: str, commands: tuple[str, ...] | None
) -> None:
    """COMMAND_MODULES names exactly the commands each module adds; the last adds the rest."""
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    added = set(subparsers.choices)
    named = {c for owned in cli.COMMAND_MODULES.values() for c in owned or ()}
    if commands is None:
        assert set() == added & named
        assert set() != added
    else:
        assert set(commands) == added


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["quote", "--hours", "2"], "quote"),
        (["--db", "x.sqlite", "show", "wo-1"], "show"),
        (["--db=x.sqlite", "list"], "list"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_is_found_after_the_database_option(
    argv: list[str], expected: str | None
) -> None:
    """`command_in` finds the command after ``--db``, and none before any other option."""
    assert expected == cli.command_in(argv)


def test_the_help_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """With no command given, the parser holds every module's commands."""
    assert 0 == cli.main(["--help"])
    listed = capsys.readouterr().out
    assert [] == [c for c in ("quote", "demo", "scenario", "show", "relay") if c not in listed]


def test_an_unknown_command_is_refused_with_every_command_offered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mistyped command exits 2, its usage error naming the commands of every module."""
    assert 2 == cli.main(["qoute", "--hours", "2"])
    refusal = capsys.readouterr().err
    assert [] == [c for c in ("quote", "demo", "scenario", "show") if f"'{c}'" not in refusal]
