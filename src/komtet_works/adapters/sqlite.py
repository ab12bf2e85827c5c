"""Work orders in a SQLite file: the embedded default store.

Durability and concurrency settings, and why:

- WAL with ``synchronous=FULL``: an acknowledged commit survives a power loss, and readers
  never block the writer;
- every write transaction opens with ``BEGIN IMMEDIATE``: it takes the write lock before
  reading the version, so two writers queue on ``busy_timeout`` instead of one failing
  at its first write with SQLITE_BUSY;
- a lock still held after the timeout is retried here until `lock_timeout`, then
  reported as `ConcurrencyError`: SQLite's "database is locked" never reaches a caller.

A save appends the new events, moves the order row and queues the messages in one
transaction, checking the version with ``UPDATE ... WHERE version = ?``; the primary key
on (order_id, seq) is the second line of defence.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

import pendulum

from komtet_works.adapters.codec import dumps_facts, loads_facts, storable
from komtet_works.adapters.connection import HoldsConnection
from komtet_works.adapters.migrations import SCHEMA_VERSION_TABLE, pending
from komtet_works.adapters.rows import (
    VALUES,
    Entry,
    check_not_older,
    created_at,
    customer_from_rows,
    event_rows,
    ledger_entry,
    orders_from_rows,
    replay_differences,
    replayed,
    same_entry,
    target_rows,
)
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import ConcurrencyError
from komtet_works.domain.instants import require_aware
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import (
    Billing,
    CustomerDirectory,
    Message,
    MessageKind,
    Outbox,
    WorkOrders,
)
from komtet_works.ports.billing import Invoice, RefundReceipt

_T = TypeVar("_T")

log = logging.getLogger(__name__)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

_INSERT_ORDER: Final = (
    "INSERT INTO work_orders (id, customer_id, state, version, claim_deadline, due, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_ORDER: Final = (
    "UPDATE work_orders SET state = ?, version = ?, claim_deadline = ?, due = ?, updated_at = ?"
    " WHERE id = ? AND version = ?"
)
_INSERT_EVENT: Final = (
    "INSERT INTO work_order_events"
    " (order_id, seq, type, at, actor_kind, actor_id, before, after, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_MESSAGE: Final = (
    "INSERT INTO outbox (id, order_id, customer_id, kind, body, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_EVENTS_OF: Final = "SELECT payload FROM work_order_events WHERE order_id = ? ORDER BY seq"
_ORDER_ROW: Final = (
    "SELECT customer_id, state, version, claim_deadline, due FROM work_orders WHERE id = ?"
)
_BY_CUSTOMER: Final = (
    "SELECT e.order_id, e.payload FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.customer_id = ? ORDER BY o.position, e.seq"
)
_BY_STATE: Final = (
    "SELECT e.order_id, e.payload FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state IN (SELECT value FROM json_each(?)) ORDER BY o.position, e.seq"
)
_CLAIM_WINDOW_ENDED: Final = (
    "SELECT e.order_id, e.payload FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state = 'completed' AND o.claim_deadline < ? ORDER BY o.position, e.seq"
)
_OVERDUE: Final = (
    "SELECT e.order_id, e.payload FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state IN ('scheduled', 'in_progress') AND o.due < ?"
    " ORDER BY o.position, e.seq"
)
_PENDING: Final = (
    "SELECT id, order_id, customer_id, kind, body FROM outbox"
    " WHERE sent_at IS NULL ORDER BY position LIMIT ?"
)
_MARK_SENT: Final = "UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL"


def micros(instant: datetime | None) -> int | None:
    """An instant as whole microseconds since the epoch (exact; comparable in SQL)."""
    # stdlib subtraction: pendulum's returns an Interval, not a plain timedelta
    return None if instant is None else datetime.__sub__(instant, _EPOCH) // _MICROSECOND


def _busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


class SqliteWorkOrders(HoldsConnection, WorkOrders, Outbox):
    """`WorkOrders` and `Outbox` on one SQLite file; open with a path or ``":memory:"``."""

    _db: sqlite3.Connection

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: timedelta = timedelta(seconds=5),
        lock_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self.path = str(path)
        self._lock_timeout = lock_timeout.total_seconds()
        # `timeout` is sqlite3's busy_timeout: how long a statement waits for a lock.
        self._db = sqlite3.connect(
            self.path,
            timeout=busy_timeout.total_seconds(),
            isolation_level=None,
            check_same_thread=False,
        )
        self._db.execute("PRAGMA foreign_keys = ON")
        self._retrying(lambda: self._db.execute("PRAGMA journal_mode = WAL").fetchone())
        self._db.execute("PRAGMA synchronous = FULL")
        self._migrate()

    # --- transactions -------------------------------------------------------------------

    def _retrying(self, work: Callable[[], _T]) -> _T:
        """Run `work`, again while SQLite reports a lock, until `lock_timeout`."""
        deadline = time.monotonic() + self._lock_timeout
        for attempt in itertools.count():
            try:
                return work()
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                if time.monotonic() >= deadline:
                    raise ConcurrencyError(
                        f"the database stayed locked for {self._lock_timeout:g} s; try again"
                    ) from None
                log.debug("database locked (attempt %d); retrying", attempt + 1)
                time.sleep(min(0.001 * 2**attempt, 0.05))
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """`work` in one ``BEGIN IMMEDIATE`` transaction: all of it or none of it."""

        def attempt() -> _T:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return result

        return self._retrying(attempt)

    def _read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """`work` in one read transaction: a consistent snapshot across its statements."""

        def attempt() -> _T:
            self._db.execute("BEGIN")
            try:
                return work(self._db)
            finally:
                self._db.execute("COMMIT")

        return self._retrying(attempt)

    def _migrate(self) -> None:
        def migrate(db: sqlite3.Connection) -> None:
            db.execute(SCHEMA_VERSION_TABLE)
            applied = {row[0] for row in db.execute("SELECT version FROM schema_version")}
            for migration in pending("sqlite", applied):
                for statement in _statements(migration.script):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, pendulum.now(pendulum.UTC).isoformat()),
                )

        self._write(migrate)

    def schema_version(self) -> int:
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0])

    # --- WorkOrders -----------------------------------------------------------------------

    def get(self, order_id: str) -> WorkOrder:
        rows = self._retrying(lambda: self._db.execute(_EVENTS_OF, (order_id,)).fetchall())
        return replayed(order_id, [payload for (payload,) in rows])

    def save(
        self, order: WorkOrder, *, expected_version: int, messages: Sequence[Message] = ()
    ) -> None:
        self.save_many([(order, expected_version)], messages=messages)

    def save_many(
        self, changes: Sequence[tuple[WorkOrder, int]], *, messages: Sequence[Message] = ()
    ) -> None:
        """Save several (order, expected version) pairs in one transaction: all or none.

        The batched form of `save`: one stale order raises `ConcurrencyError` and no
        order, event or message of the batch is kept.
        """
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        last: dict[str, datetime] = {}
        for order, expected_version in changes:
            check_not_older(order, expected_version)
            rows = event_rows(order, expected_version)
            events.extend(rows)
            last[order.id] = order.events[-1].at
            works = order.works
            row = (
                VALUES[order.state],
                order.version,
                micros(works.claim_deadline),
                micros(works.due),
                rows[-1][3] if rows else last[order.id].isoformat(),
            )
            if expected_version == 0:
                inserts.append((order.id, order.customer_id, *row))
            else:
                updates.append((*row, order.id, expected_version))
        outbox = [
            (
                storable(m.id, "message id"),
                m.order_id,
                m.customer_id,
                m.kind.value,
                dumps_facts(m.facts),
                at.isoformat(),
            )
            for m, at in zip(messages, created_at(messages, last), strict=True)
        ]

        def write(db: sqlite3.Connection) -> None:
            try:
                db.executemany(_INSERT_ORDER, inserts)
                for update in updates:
                    if db.execute(_UPDATE_ORDER, update).rowcount != 1:
                        raise _stale(db, str(update[-2]), int(str(update[-1])))
                db.executemany(_INSERT_EVENT, events)
            except sqlite3.IntegrityError:
                if len(changes) == 1:
                    order, expected_version = changes[0]
                    raise _stale(db, order.id, expected_version) from None
                raise ConcurrencyError("an order of the batch was saved by someone else") from None
            db.executemany(_INSERT_MESSAGE, outbox)

        self._write(write)

    def by_customer(self, customer_id: str) -> Sequence[WorkOrder]:
        return self._orders(_BY_CUSTOMER, customer_id)

    def by_state(self, *states: State) -> Sequence[WorkOrder]:
        return self._orders(_BY_STATE, json_list(s.value for s in states))

    # --- queries for hosts' jobs ----------------------------------------------------------

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]:
        """Completed orders whose claim deadline is before `now`: the closing job's list."""
        return self._orders(_CLAIM_WINDOW_ENDED, micros(require_aware(now, field="now")))

    def overdue(self, now: datetime) -> Sequence[WorkOrder]:
        """Scheduled or started orders whose announced completion date is before `now`."""
        return self._orders(_OVERDUE, micros(require_aware(now, field="now")))

    def verify_replay(self, order_id: str) -> Sequence[str]:
        """How the stored order row differs from replaying its events; empty when equal."""

        def read(db: sqlite3.Connection) -> tuple[tuple[object, ...] | None, list[str]]:
            row = db.execute(_ORDER_ROW, (order_id,)).fetchone()
            return row, [payload for (payload,) in db.execute(_EVENTS_OF, (order_id,))]

        row, payloads = self._read(read)
        return replay_differences(order_id, row, payloads, instant=micros)

    def _orders(self, query: str, parameter: object) -> list[WorkOrder]:
        return orders_from_rows(
            self._retrying(lambda: self._db.execute(query, (parameter,)).fetchall())
        )

    # --- Outbox -----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> Sequence[Message]:
        rows = self._retrying(lambda: self._db.execute(_PENDING, (limit,)).fetchall())
        return [Message(i, o, c, loads_facts(MessageKind(k), b)) for i, o, c, k, b in rows]

    def mark_sent(self, message_id: str, sent_at: pendulum.DateTime) -> None:
        at = require_aware(sent_at, field="sent_at").isoformat()
        self._write(lambda db: db.execute(_MARK_SENT, (at, message_id)))


def json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))


def _stale(db: sqlite3.Connection, order_id: str, expected: int) -> ConcurrencyError:
    row = db.execute("SELECT version FROM work_orders WHERE id = ?", (order_id,)).fetchone()
    version = 0 if row is None else row[0]
    return ConcurrencyError(f"order {order_id!r} is at version {version}, not {expected}")


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


# --- the host's side: customers and billing in the same file ---------------------------------

_CUSTOMER: Final = "SELECT id FROM customers WHERE id = ?"
_CUSTOMER_TARGETS: Final = (
    "SELECT kind, name, maintained FROM customer_targets WHERE customer_id = ? ORDER BY kind, name"
)
_PUT_CUSTOMER: Final = "INSERT INTO customers (id) VALUES (?) ON CONFLICT (id) DO NOTHING"
_FORGET_TARGETS: Final = "DELETE FROM customer_targets WHERE customer_id = ?"
_PUT_TARGET: Final = (
    "INSERT INTO customer_targets (customer_id, kind, name, maintained) VALUES (?, ?, ?, ?)"
)
_PUT_INVOICE: Final = (
    "INSERT INTO billing_invoices (idempotency_key, order_id, amount, currency)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"
)
_INVOICE: Final = (
    "SELECT position, order_id, amount, currency FROM billing_invoices WHERE idempotency_key = ?"
)
_INVOICES: Final = "SELECT position, order_id, amount, currency FROM billing_invoices ORDER BY 1"
_PUT_REFUND: Final = (
    "INSERT INTO billing_refunds (idempotency_key, payment_id, amount, currency)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"
)
_REFUND: Final = (
    "SELECT position, payment_id, amount, currency FROM billing_refunds WHERE idempotency_key = ?"
)
_REFUNDS: Final = "SELECT position, payment_id, amount, currency FROM billing_refunds ORDER BY 1"
#: Per kind of ledger entry: the field of its owner, the statements adding and finding it.
_LEDGER: Final[Mapping[type[Invoice | RefundReceipt], tuple[str, str, str]]] = {
    Invoice: ("order_id", _PUT_INVOICE, _INVOICE),
    RefundReceipt: ("payment_id", _PUT_REFUND, _REFUND),
}


def _open_migrated(path: str | Path, busy_timeout: timedelta) -> sqlite3.Connection:
    """A connection to the database at `path`, its schema brought up to date first."""
    with SqliteWorkOrders(path, busy_timeout=busy_timeout):  # opening it applies migrations
        pass
    db = sqlite3.connect(
        str(path),
        timeout=busy_timeout.total_seconds(),
        isolation_level=None,
        check_same_thread=False,
    )
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = FULL")
    return db


def _immediately(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """`work` in one ``BEGIN IMMEDIATE`` transaction; a lock held too long: `ConcurrencyError`."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as error:
        if not _busy(error):
            raise
        raise ConcurrencyError("the database stayed locked; try again") from None
    return result


class SqliteCustomerDirectory(HoldsConnection, CustomerDirectory):
    """The hosting's customers in the SQLite file: targets and Site Maintenance in tables."""

    _db: sqlite3.Connection

    def __init__(self, path: str | Path, *, busy_timeout: timedelta = timedelta(seconds=5)) -> None:
        self._db = _open_migrated(path, busy_timeout)

    def find(self, customer_id: str) -> Customer | None:
        # No transaction needed: `put` replaces a customer's rows atomically, and no
        # customer is ever removed, so the two reads cannot see a half-written customer.
        if self._db.execute(_CUSTOMER, (customer_id,)).fetchone() is None:
            return None
        rows = self._db.execute(_CUSTOMER_TARGETS, (customer_id,)).fetchall()
        return customer_from_rows(customer_id, rows)

    def put(self, customer: Customer) -> None:
        """Add a customer or replace what is known of them (a subscription ended, say)."""
        rows = target_rows(customer)

        def write(db: sqlite3.Connection) -> None:
            db.execute(_PUT_CUSTOMER, (customer.id,))
            db.execute(_FORGET_TARGETS, (customer.id,))
            db.executemany(_PUT_TARGET, rows)

        _immediately(self._db, write)


class SqliteBilling(HoldsConnection, Billing):
    """A billing ledger in the SQLite file: invoices and refunds, once per idempotency key."""

    _db: sqlite3.Connection

    def __init__(self, path: str | Path, *, busy_timeout: timedelta = timedelta(seconds=5)) -> None:
        self._db = _open_migrated(path, busy_timeout)

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        return self._entry(Invoice, order_id, amount, idempotency_key).reference

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        return self._entry(RefundReceipt, payment_id, amount, idempotency_key).reference

    def _entry(self, kind: type[Entry], owner: str, amount: Money, idempotency_key: str) -> Entry:
        """The entry of `kind` under the key: added now, or the same one added before."""
        field, statement, query = _LEDGER[kind]
        key = storable(idempotency_key, "idempotency key")
        asked = (key, storable(owner, field), str(amount.amount), amount.currency)

        def write(db: sqlite3.Connection) -> tuple[object, ...]:
            db.execute(statement, asked)
            kept: tuple[object, ...] = db.execute(query, (idempotency_key,)).fetchone()
            return kept

        kept = _immediately(self._db, write)
        return same_entry(kind, kept, owner, amount, idempotency_key)

    def invoices(self) -> Sequence[Invoice]:
        """Every invoice, oldest first."""
        return [ledger_entry(Invoice, row) for row in self._db.execute(_INVOICES)]

    def refunds(self) -> Sequence[RefundReceipt]:
        """Every refund paid out, oldest first."""
        return [ledger_entry(RefundReceipt, row) for row in self._db.execute(_REFUNDS)]
