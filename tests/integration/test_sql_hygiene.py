"""No SQL is built by string formatting: every statement is a constant, values are parameters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import komtet_works.adapters

ADAPTERS = Path(komtet_works.adapters.__file__).parent
SQL_MODULES = sorted(
    [ADAPTERS / "sqlite.py", ADAPTERS / "postgres.py", *(ADAPTERS / "migrations").glob("*.py")]
)
EXECUTING = {"execute", "executemany", "executescript"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WHERE|PRAGMA)\b")


def _module_constants(tree: ast.Module) -> set[str]:
    """Names bound at module level, once, to a string literal (implicit concatenation too)."""
    names = set()
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            names.add(target.id)
    return names


def _statement_arguments(tree: ast.Module) -> list[ast.expr]:
    """First arguments of execute() calls, and of `_orders`, which passes its own on."""
    return [
        node.args[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {*EXECUTING, "_orders"}
        and node.args
    ]


@pytest.mark.parametrize("path", SQL_MODULES, ids=lambda p: p.name)
def test_every_statement_is_a_literal_or_a_module_constant(path: Path) -> None:
    """execute() gets a string literal or a module-level string constant, nothing composed."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = set().union(
        *(_module_constants(ast.parse(p.read_text(encoding="utf-8"))) for p in SQL_MODULES)
    )
    composed = [
        ast.unparse(argument)
        for argument in _statement_arguments(tree)
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str))
        and not (isinstance(argument, ast.Name) and argument.id in constants)
        and ast.unparse(argument) not in {"query", "statement", "migration.script.encode()"}
    ]
    assert [] == composed


@pytest.mark.parametrize("path", SQL_MODULES, ids=lambda p: p.name)
def test_no_formatted_string_holds_sql(path: Path) -> None:
    """No f-string, % or .format() in an adapter produces text with SQL keywords."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    formatted = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr | ast.BinOp) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"format", "replace", "join"}
        ):
            source = ast.unparse(node)
            if SQL_WORDS.search(source):
                formatted.append(source)
    assert [] == formatted


def test_migration_scripts_come_from_the_package_not_from_input() -> None:
    """The non-constant statements: `_orders`' own parameter and the shipped migrations."""
    sources = "".join(p.read_text(encoding="utf-8") for p in SQL_MODULES)
    assert 2 == sources.count("def _orders(self, query: str, parameter: object)")
    assert 1 == sources.count("for statement in _statements(migration.script)")
    assert 1 == sources.count("db.execute(migration.script.encode())")
