"""What differs between the SQL databases, as data, so that each statement is written once."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import attrs

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def micros(instant: datetime | None) -> int | None:
    """An instant as whole microseconds since the epoch (exact; comparable in SQL)."""
    # stdlib subtraction: pendulum's returns an Interval, not a plain timedelta
    return None if instant is None else datetime.__sub__(instant, _EPOCH) // _MICROSECOND


def _as_is(instant: datetime | None) -> datetime | None:
    return instant


@attrs.frozen
class Dialect:
    """One database's spelling of what the statements in `statements` leave open."""

    #: The migrations' file suffix (``NNNN_name.<name>.sql``).
    name: Literal["sqlite", "postgres"]
    #: The driver's parameter marker, put where a statement says ``?``.
    placeholder: str
    #: "is one of the texts of one list parameter", after a column: ``{one_of}``.  On
    #: PostgreSQL an array compared with ``= ANY``, which the planner reads through an
    #: index (a subquery of a JSON list has it join the whole table: issue 12's plans).
    one_of: str
    #: The list parameter ``{one_of}`` takes, as the driver binds it.
    text_list: Callable[[Sequence[str]], object]
    #: What locks the selected rows until the transaction ends: ``{lock_rows}``.
    lock_rows: str
    #: What locks the selected rows, skipping those another transaction holds: ``{claim_rows}``
    #: (relay workers claiming a batch of the outbox side by side).
    claim_rows: str
    #: An instant as its indexed column keeps it (claim deadline, due date).
    instant: Callable[[datetime | None], object]
    #: Whether a text column can hold NUL; where it cannot, such ids are refused.
    keeps_nul: bool
    #: The column types and table options the shared migration scripts name in braces.
    ddl: Mapping[str, str]


#: SQLite: instants as integer microseconds; the write lock is taken by BEGIN IMMEDIATE.
SQLITE: Final = Dialect(
    name="sqlite",
    placeholder="?",
    one_of=" IN (SELECT value FROM json_each(?))",
    text_list=json.dumps,
    lock_rows="",
    claim_rows="",
    instant=micros,
    keeps_nul=True,
    ddl={
        "position": "INTEGER PRIMARY KEY",
        "indexed_instant": "INTEGER",  # microseconds since the epoch, UTC
        "instant": "TEXT",  # ISO 8601 with its offset
        "json": "TEXT",
        "decimal": "TEXT",  # an exact decimal, as text
        "boolean": "INTEGER",
        "without_rowid": " WITHOUT ROWID",
    },
)

#: PostgreSQL (psycopg): TIMESTAMPTZ instants, row locks, no NUL in text.
POSTGRES: Final = Dialect(
    name="postgres",
    placeholder="%s",
    one_of=" = ANY(%s)",
    text_list=list,
    lock_rows=" FOR UPDATE",
    claim_rows=" FOR UPDATE SKIP LOCKED",
    instant=_as_is,
    keeps_nul=False,
    ddl={
        "position": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "indexed_instant": "TIMESTAMPTZ",
        "instant": "TIMESTAMPTZ",
        "json": "JSON",  # json, not jsonb: it keeps \u0000 and the text as written
        "decimal": "NUMERIC",
        "boolean": "BOOLEAN",
        "without_rowid": "",
    },
)

#: The dialects by name.
DIALECTS: Final[Mapping[str, Dialect]] = {d.name: d for d in (SQLITE, POSTGRES)}
