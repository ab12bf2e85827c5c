"""Versioned schema migrations: per version, one script both databases share, and their own.

``NNNN_name.sql`` is written once: it names the types that differ in braces
(``{position}``, ``{instant}``, ...; the `Dialect.ddl`).  ``NNNN_name.<dialect>.sql``,
optional, holds what only that database can say (triggers, functions) and runs after the
shared script.  Migrations are applied in version order, in one transaction, each with a
row in ``schema_version``, when a store's ``migrate()`` is called (never on opening).
Scripts are never edited once released; a change is a new version.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import attrs

from komtet_works.adapters.sql.dialect import DIALECTS
from komtet_works.domain.errors import SchemaTooNew

Dialect = Literal["sqlite", "postgres"]

__all__ = ["Migration", "SchemaTooNew", "migrations", "pending"]


@attrs.frozen
class Migration:
    version: int
    name: str
    script: str = attrs.field(repr=False)


def migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """Every migration of `dialect`, oldest first: the shared script, then the dialect's."""
    scripts: dict[tuple[int, str], dict[str, str]] = {}
    for entry in resources.files(__name__).iterdir():
        stem, _, suffix = entry.name.partition(".")
        if not suffix.endswith("sql"):
            continue
        number, _, name = stem.partition("_")
        scripts.setdefault((int(number), name), {})[suffix] = entry.read_text(encoding="utf-8")
    ddl = DIALECTS[dialect].ddl
    return tuple(
        Migration(
            version,
            name,
            parts.get("sql", "").format_map(ddl) + parts.get(f"{dialect}.sql", ""),
        )
        for (version, name), parts in sorted(scripts.items())
    )


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
