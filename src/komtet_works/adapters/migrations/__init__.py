"""Versioned schema migrations, one SQL script per version and dialect.

``NNNN_name.<dialect>.sql``: applied in version order, each in its own transaction with
a row in ``schema_version``, by `SqliteWorkOrders` and `PostgresWorkOrders` when they
open a database.  Scripts are never edited once released; a change is a new version.
"""

from __future__ import annotations

from importlib import resources
from typing import Final, Literal

import attrs

from komtet_works.domain.errors import KomtetWorksError

Dialect = Literal["sqlite", "postgres"]


@attrs.frozen
class Migration:
    version: int
    name: str
    script: str = attrs.field(repr=False)


class SchemaTooNew(KomtetWorksError):
    """The database was migrated by a newer komtet-works than this one."""

    code = "schema_too_new"


def migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """Every migration of `dialect`, oldest first."""
    found = []
    for entry in resources.files(__name__).iterdir():
        stem, _, suffix = entry.name.partition(".")
        if suffix != f"{dialect}.sql":
            continue
        number, _, name = stem.partition("_")
        found.append(Migration(int(number), name, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.version))


def pending(dialect: Dialect, applied: set[int]) -> tuple[Migration, ...]:
    """The migrations not yet in `applied`; refuses a database newer than this code."""
    known = migrations(dialect)
    latest = known[-1].version if known else 0
    if applied and max(applied) > latest:
        raise SchemaTooNew(
            f"the database schema is at version {max(applied)}; this komtet-works knows "
            f"versions up to {latest}"
        )
    return tuple(m for m in known if m.version not in applied)


SCHEMA_VERSION_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
