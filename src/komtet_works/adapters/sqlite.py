"""Work orders, customers and a billing ledger in a SQLite file: the embedded default store.

Durability and concurrency settings, and why:

- WAL with ``synchronous=FULL``: an acknowledged commit survives a power loss, and readers
  never block the writer;
- every write transaction opens with ``BEGIN IMMEDIATE``: it takes the write lock before
  reading the version, so two writers queue on ``busy_timeout`` instead of one failing
  at its first write with SQLITE_BUSY;
- a lock still held after the timeout is retried here until `lock_timeout`, then
  reported as `ConcurrencyError`: SQLite's "database is locked" never reaches a caller;
  its other errors arrive as the library's `DatabaseError`s.

The statements and what they mean are shared with PostgreSQL (`komtet_works.adapters.sql`);
this module holds the connection and its transactions.  Nothing is migrated on opening:
call ``migrate()``, or open with ``migrate=True``.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Final, TypeVar

from komtet_works._logging import logger
from komtet_works.adapters.sql import stores
from komtet_works.adapters.sql.dialect import SQLITE, Dialect
from komtet_works.adapters.sql.statements import TEMPLATES, Statements
from komtet_works.domain.errors import (
    ConcurrencyError,
    ConstraintViolated,
    DatabaseError,
    DatabaseUnavailable,
    KomtetWorksError,
    SchemaNotMigrated,
)

__all__ = ["SqliteBilling", "SqliteCustomerDirectory", "SqliteDatabase", "SqliteWorkOrders"]

_T = TypeVar("_T")

log = logger(__name__)

_SQL: Final = TEMPLATES.rendered(SQLITE)
_DUPLICATE: Final = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def _busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


def _mapped(error: sqlite3.Error) -> KomtetWorksError:
    """The library's error for what sqlite3 raised."""
    text = str(error)
    if isinstance(error, sqlite3.IntegrityError):
        duplicate = getattr(error, "sqlite_errorname", "") in _DUPLICATE
        return ConstraintViolated(f"SQLite refused a row: {text}", duplicate=duplicate)
    if "no such table" in text:
        return SchemaNotMigrated(f"{text}: the database is not migrated; run migrate()")
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        error, sqlite3.ProgrammingError
    ):
        return DatabaseUnavailable(f"SQLite: {text}")
    return DatabaseError(f"SQLite: {text}")


class SqliteDatabase:
    """One connection to a SQLite file, its transactions, and its errors made the library's."""

    dialect: Final[Dialect] = SQLITE
    sql: Final[Statements] = _SQL

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: timedelta = timedelta(seconds=5),
        lock_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self.path = str(path)
        self._lock_timeout = lock_timeout.total_seconds()
        try:
            # `timeout` is sqlite3's busy_timeout: how long a statement waits for a lock.
            self._db = sqlite3.connect(
                self.path,
                timeout=busy_timeout.total_seconds(),
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise _mapped(error) from error
        self._db.execute("PRAGMA foreign_keys = ON")
        self._retrying(lambda: self._db.execute("PRAGMA journal_mode = WAL").fetchone())
        self._db.execute("PRAGMA synchronous = FULL")

    def _retrying(self, work: Callable[[], _T]) -> _T:
        """Run `work`, again while SQLite reports a lock, until `lock_timeout`."""
        deadline = time.monotonic() + self._lock_timeout
        for attempt in itertools.count():
            try:
                return work()
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise _mapped(error) from error
                if time.monotonic() >= deadline:
                    raise ConcurrencyError(
                        f"the database stayed locked for {self._lock_timeout:g} s; try again"
                    ) from None
                log.debug("database locked (attempt %d); retrying", attempt + 1)
                time.sleep(min(0.001 * 2**attempt, 0.05))
            except sqlite3.Error as error:
                raise _mapped(error) from error
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def write(self, work: Callable[[stores.Cursor], _T]) -> _T:
        """`work` in one ``BEGIN IMMEDIATE`` transaction: all of it or none of it."""
        return self._retrying(lambda: self._transaction("BEGIN IMMEDIATE", work))

    def read(self, work: Callable[[stores.Cursor], _T]) -> _T:
        """`work` in one read transaction: a consistent snapshot across its statements."""
        return self._retrying(lambda: self._transaction("BEGIN", work))

    #: Migrating takes the write lock first, so two processes migrate one after the other.
    migrating = write

    def _transaction(self, begin: str, work: Callable[[stores.Cursor], _T]) -> _T:
        self._db.execute(begin)
        try:
            result = work(self._db.cursor())
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    def run_script(self, cursor: stores.Cursor, script: str) -> None:
        for statement in _statements(script):
            cursor.execute(statement)

    def close(self) -> None:
        self._db.close()


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script (triggers hold ``;`` inside BEGIN ... END)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement.strip()
            statement = ""
    if statement.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
    ):
        raise ValueError("a migration script ends inside a statement")


class _OnSqlite(stores.SqlStore):
    """A store that opens its own connection to the SQLite file at `path`."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: timedelta = timedelta(seconds=5),
        lock_timeout: timedelta = timedelta(seconds=60),
        migrate: bool = False,
    ) -> None:
        """Open `path` (or ``":memory:"``); with ``migrate=True``, bring its schema up to date."""
        self.path = str(path)
        database = SqliteDatabase(path, busy_timeout=busy_timeout, lock_timeout=lock_timeout)
        super().__init__(database, migrate=migrate)


class SqliteWorkOrders(_OnSqlite, stores.SqlWorkOrders):
    """`WorkOrders` and `Outbox` on one SQLite file; open with a path or ``":memory:"``."""


class SqliteCustomerDirectory(_OnSqlite, stores.SqlCustomerDirectory):
    """The hosting's customers in the SQLite file: targets and Site Maintenance in tables."""


class SqliteBilling(_OnSqlite, stores.SqlBilling):
    """A billing ledger in the SQLite file: invoices and refunds, once per idempotency key."""
