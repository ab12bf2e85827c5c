"""No SQL is built from values: statements are templates in one module, values are parameters."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import attrs
import pytest

import komtet_works.adapters
from komtet_works.adapters.postgres import PostgresDatabase
from komtet_works.adapters.sql.dialect import POSTGRES, SQLITE
from komtet_works.adapters.sql.statements import TABLES, TEMPLATES, Statements
from komtet_works.adapters.sqlite import SqliteDatabase

ADAPTERS = Path(komtet_works.adapters.__file__).parent
SQL_MODULES = sorted(
    [
        ADAPTERS / "sqlite.py",
        ADAPTERS / "postgres.py",
        *(ADAPTERS / "sql").glob("*.py"),
        *(ADAPTERS / "sql" / "migrations").glob("*.py"),
    ]
)
EXECUTING = {"execute", "executemany", "executescript"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WHERE|PRAGMA)\b")
#: Names a statement is passed on under: templates, migration scripts, SQLite's BEGIN literals.
PASSED_ON = {"query", "statement", "script", "begin"}
STATEMENTS = {field.name for field in attrs.fields(Statements)}


def _statement_arguments(tree: ast.Module) -> list[ast.expr]:
    """First arguments of execute() calls, and of `_orders` and `_all`, which pass theirs on."""
    return [
        node.args[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {*EXECUTING, "_orders", "_all"}
        and node.args
    ]


def _composed_by_psycopg(node: ast.AST) -> bool:
    """``sql.SQL("literal").format(...)``: psycopg quotes what it puts in."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Call)
        and ast.unparse(node.func.value.func) == "sql.SQL"
        and all(isinstance(a, ast.Constant) for a in node.func.value.args)
    )


def _allowed(argument: ast.expr) -> bool:
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return True
    if isinstance(argument, ast.Attribute) and ast.unparse(argument.value) in {"sql", "self._sql"}:
        return argument.attr in STATEMENTS
    if isinstance(argument, ast.Name):
        return argument.id in PASSED_ON
    return _composed_by_psycopg(argument)


@pytest.mark.parametrize("path", SQL_MODULES, ids=lambda p: p.name)
def test_every_statement_is_a_literal_a_template_or_composed_by_psycopg(path: Path) -> None:
    """execute() gets a literal, a `Statements` field, or psycopg.sql's quoting, nothing else."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    composed = [ast.unparse(a) for a in _statement_arguments(tree) if not _allowed(a)]
    assert [] == composed


@pytest.mark.parametrize("path", SQL_MODULES, ids=lambda p: p.name)
def test_no_formatted_string_holds_sql(path: Path) -> None:
    """No f-string, % or str.format() in an adapter produces text with SQL keywords."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    formatted = []
    for node in ast.walk(tree):
        if _composed_by_psycopg(node):
            continue
        if isinstance(node, ast.JoinedStr | ast.BinOp) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"format", "format_map", "replace", "join"}
        ):
            source = ast.unparse(node)
            if SQL_WORDS.search(source):
                formatted.append(source)
    assert [] == formatted


def test_templates_leave_open_only_tables_and_dialect_fragments() -> None:
    """A template's braces name a known table, ``one_of``, ``lock_rows`` or ``claim_rows``:
    never a value."""
    allowed = {*TABLES, "one_of", "lock_rows", "claim_rows"}
    named = {
        name
        for field in attrs.fields(Statements)
        for _, name, _, _ in string.Formatter().parse(getattr(TEMPLATES, field.name))
        if name is not None
    }
    assert set() == named - allowed


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRES], ids=lambda d: d.name)
def test_rendered_statements_use_the_dialects_markers_only(dialect: object) -> None:
    """Rendered, no brace is left, and PostgreSQL's statements hold no ``?`` marker."""
    rendered = TEMPLATES.rendered(SQLITE if dialect is SQLITE else POSTGRES)
    texts = [getattr(rendered, field.name) for field in attrs.fields(Statements)]
    assert [] == [t for t in texts if "{" in t or "}" in t]
    if dialect is POSTGRES:
        assert [] == [t for t in texts if "?" in t]


def test_the_sqlite_and_postgres_databases_share_the_templates() -> None:
    """Both databases render the one set of templates: no statement of their own."""
    assert TEMPLATES.rendered(SQLITE) == SqliteDatabase.sql
    sources = "".join(p.read_text(encoding="utf-8") for p in SQL_MODULES)
    assert 2 == sources.count("TEMPLATES.rendered(")
    assert PostgresDatabase.dialect is POSTGRES


def test_migration_scripts_come_from_the_package_not_from_input() -> None:
    """The statements passed on by name: `_orders`', `_page`'s and `_all`'s and the shipped
    migrations."""
    sources = "".join(p.read_text(encoding="utf-8") for p in SQL_MODULES)
    assert 1 == sources.count("def _orders(self, query: str, *parameters: object)")
    assert 1 == sources.count("self, query: str, keys: Sequence[object], limit: int | None")
    assert 1 == sources.count("database.run_script(cursor, migration.script)")
