"""Work orders, customers and a billing ledger in PostgreSQL (psycopg 3), for many workers.

A store opens on a libpq DSN (its own connection), on the host's psycopg connection (its
transactions join the host's: a store's transaction inside the host's is a savepoint), or
on a `psycopg_pool.ConnectionPool` (a connection per transaction).  ``schema=`` puts the
tables in a schema of the host's choosing; without it they are where the connection's
``search_path`` says.  Nothing is migrated on opening: call ``migrate()``, or open with
``migrate=True``.

The row lock taken by ``UPDATE ... WHERE version = %s`` makes a concurrent writer wait,
then find the version moved.  Serialization failures (40001), deadlocks (40P01) and lock
timeouts, which a host running SERIALIZABLE may see, are retried when the store owns the
transaction; if they persist, the caller gets `ConcurrencyError`.  Other driver errors
arrive as the library's `DatabaseError`s.

PostgreSQL text cannot hold NUL characters: identifiers containing one are refused with
`InvalidInput`.  Free texts (problems, notes) live only in the JSON event payload, where
NUL is escaped, so they are kept exactly.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

from komtet_works._logging import logger
from komtet_works.adapters.sql.dialect import POSTGRES, Dialect
from komtet_works.adapters.sql.statements import TEMPLATES, Statements
from komtet_works.adapters.sql.stores import (
    Cursor,
    SqlBilling,
    SqlCustomerDirectory,
    SqlStore,
    SqlWorkOrders,
)
from komtet_works.domain.errors import (
    ConcurrencyError,
    ConstraintViolated,
    DatabaseError,
    DatabaseUnavailable,
    InvalidInput,
    KomtetWorksError,
    SchemaNotMigrated,
)

__all__ = [
    "PostgresBilling",
    "PostgresCustomerDirectory",
    "PostgresDatabase",
    "PostgresWorkOrders",
    "Source",
]

_T = TypeVar("_T")

log = logger(__name__)

#: What a store opens on: a DSN, the host's connection, or the host's pool.
Source = str | psycopg.Connection[Any] | ConnectionPool[Any]

#: The key of the advisory lock that serializes migrations between processes.
_MIGRATION_LOCK: Final = 0x6B6F6D74
_RETRIED: Final = (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable)


def _mapped(error: psycopg.Error) -> KomtetWorksError:
    """The library's error for what psycopg raised."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, errors.UniqueViolation):
        return ConstraintViolated(f"PostgreSQL refused a row: {text}", duplicate=True)
    if isinstance(error, psycopg.IntegrityError):
        return ConstraintViolated(f"PostgreSQL refused a row: {text}")
    if isinstance(error, errors.UndefinedTable):
        return SchemaNotMigrated(f"{text}: the database is not migrated; run migrate()")
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return DatabaseUnavailable(f"PostgreSQL: {text}")
    return DatabaseError(f"PostgreSQL: {text}")


class PostgresDatabase:
    """A PostgreSQL database as the stores use it, on a DSN, a connection or a pool."""

    dialect: Final[Dialect] = POSTGRES

    def __init__(self, source: Source, *, schema: str | None = None, attempts: int = 20) -> None:
        if schema is not None and (not schema or "%" in schema or "\x00" in schema):
            # `%` would read as a parameter marker inside a statement
            raise InvalidInput("a schema name is not empty and has no % or NUL", field="schema")
        self.schema = schema
        self._attempts = attempts
        self._pool: ConnectionPool[Any] | None = None
        self._connection: psycopg.Connection[Any] | None = None
        self._owned = isinstance(source, str)
        if isinstance(source, str):
            try:
                self._connection = psycopg.connect(source, autocommit=True)
            except psycopg.Error as error:
                raise _mapped(error) from error
        elif isinstance(source, ConnectionPool):
            self._pool = source
        else:
            self._connection = source
        self.sql: Final[Statements] = TEMPLATES.rendered(POSTGRES, self._table)

    def _table(self, name: str) -> str:
        if self.schema is None:
            return sql.Identifier(name).as_string()
        return sql.Identifier(self.schema, name).as_string()

    @contextlib.contextmanager
    def _connected(self) -> Iterator[psycopg.Connection[Any]]:
        if self._pool is not None:
            with self._pool.connection() as connection:
                yield connection
        else:
            assert self._connection is not None  # noqa: S101 - one of the two is set
            yield self._connection

    def _transaction(
        self,
        work: Callable[[Cursor], _T],
        *,
        before: Callable[[psycopg.Cursor[Any]], None] | None = None,
    ) -> _T:
        """`work` in one transaction, again after a serialization failure or deadlock.

        Inside a transaction the host opened, the host's transaction decides: no retry.
        """
        for attempt in itertools.count(1):
            try:
                with self._connected() as connection:
                    joined = connection.info.transaction_status != TransactionStatus.IDLE
                    with (
                        connection.transaction(),
                        connection.cursor(row_factory=tuple_row) as cursor,
                    ):
                        cursor.adapters.register_loader("json", TextLoader)  # payloads as text
                        if before is not None:
                            before(cursor)
                        return work(cursor)
            except _RETRIED as error:
                if joined or attempt >= self._attempts:
                    raise ConcurrencyError(
                        f"the transaction failed to serialize {attempt} times; try again"
                    ) from None
                log.debug("%s (attempt %d); retrying", type(error).__name__, attempt)
                time.sleep(min(0.001 * 2**attempt, 0.05))
            except psycopg.Error as error:
                raise _mapped(error) from error
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def write(self, work: Callable[[Cursor], _T]) -> _T:
        return self._transaction(work)

    def read(self, work: Callable[[Cursor], _T]) -> _T:
        return self._transaction(work)

    def migrating(self, work: Callable[[Cursor], _T]) -> _T:
        """`work` under the migration lock, in the schema (created if need be)."""

        def enter(cursor: psycopg.Cursor[Any]) -> None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if self.schema is not None:
                schema = sql.Identifier(self.schema)
                cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
                cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))

        return self._transaction(work, before=enter)

    def run_script(self, cursor: Cursor, script: str) -> None:
        cursor.execute(script)  # no parameters: one simple query, any number of statements

    def close(self) -> None:
        """Close the connection opened from a DSN; the host's connection or pool stays open."""
        if self._owned and self._connection is not None:
            self._connection.close()


class _OnPostgres(SqlStore):
    """A store on PostgreSQL: a DSN, the host's connection or pool, and a schema."""

    def __init__(
        self,
        source: Source,
        *,
        schema: str | None = None,
        attempts: int = 20,
        migrate: bool = False,
    ) -> None:
        """Open on `source`; with ``migrate=True``, bring the schema's tables up to date."""
        database = PostgresDatabase(source, schema=schema, attempts=attempts)
        super().__init__(database, migrate=migrate)


class PostgresWorkOrders(_OnPostgres, SqlWorkOrders):
    """`WorkOrders` and `Outbox` on one PostgreSQL database."""


class PostgresCustomerDirectory(_OnPostgres, SqlCustomerDirectory):
    """The hosting's customers in PostgreSQL: targets and Site Maintenance in tables."""


class PostgresBilling(_OnPostgres, SqlBilling):
    """A billing ledger in PostgreSQL: invoices and refunds, once per idempotency key."""
