"""Work orders in PostgreSQL (psycopg 3), for hosts with many workers on many machines.

A save appends the new events, moves the order row and queues the messages in one
transaction, checking the version with ``UPDATE ... WHERE version = %s`` (the row lock
makes a concurrent writer wait, then find the version moved); the primary key on
(order_id, seq) is the second line of defence.  Serialization failures (40001) and
deadlocks (40P01), which a host running SERIALIZABLE may see, are retried; if they
persist, the caller gets `ConcurrencyError`.

PostgreSQL text cannot hold NUL characters: identifiers containing one are refused with
`InvalidInput`.  Free texts (problems, notes) live only in the JSON event payload, where
NUL is escaped, so they are kept exactly.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeVar

import pendulum
import psycopg
from psycopg import errors

from komtet_works.adapters.codec import dumps_facts, loads_facts, storable
from komtet_works.adapters.connection import HoldsConnection
from komtet_works.adapters.migrations import SCHEMA_VERSION_TABLE, pending
from komtet_works.adapters.rows import (
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
from komtet_works.domain.errors import ConcurrencyError, InvalidInput
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

#: The key of the advisory lock that serializes migrations between processes.
_MIGRATION_LOCK: Final = 0x6B6F6D74

_INSERT_ORDER: Final = (
    "INSERT INTO work_orders (id, customer_id, state, version, claim_deadline, due, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_UPDATE_ORDER: Final = (
    "UPDATE work_orders SET state = %s, version = %s, claim_deadline = %s, due = %s,"
    " updated_at = %s WHERE id = %s AND version = %s"
)
_INSERT_EVENT: Final = (
    "INSERT INTO work_order_events"
    " (order_id, seq, type, at, actor_kind, actor_id, before, after, payload)"
    " VALUES (%s, %s, %s, %s::timestamptz, %s, %s, %s, %s, %s::json)"
)
_INSERT_MESSAGE: Final = (
    "INSERT INTO outbox (id, order_id, customer_id, kind, body, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
_VERSION_OF: Final = "SELECT version FROM work_orders WHERE id = %s"
_EVENTS_OF: Final = "SELECT payload::text FROM work_order_events WHERE order_id = %s ORDER BY seq"
_ORDER_ROW: Final = (
    "SELECT customer_id, state, version, claim_deadline, due FROM work_orders WHERE id = %s"
)
_BY_CUSTOMER: Final = (
    "SELECT e.order_id, e.payload::text FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.customer_id = %s ORDER BY o.position, e.seq"
)
_BY_STATE: Final = (
    "SELECT e.order_id, e.payload::text FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state = ANY(%s) ORDER BY o.position, e.seq"
)
_CLAIM_WINDOW_ENDED: Final = (
    "SELECT e.order_id, e.payload::text FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state = 'completed' AND o.claim_deadline < %s ORDER BY o.position, e.seq"
)
_OVERDUE: Final = (
    "SELECT e.order_id, e.payload::text FROM work_orders AS o"
    " JOIN work_order_events AS e ON e.order_id = o.id"
    " WHERE o.state IN ('scheduled', 'in_progress') AND o.due < %s"
    " ORDER BY o.position, e.seq"
)
_PENDING: Final = (
    "SELECT id, order_id, customer_id, kind, body FROM outbox"
    " WHERE sent_at IS NULL ORDER BY position LIMIT %s"
)
_MARK_SENT: Final = "UPDATE outbox SET sent_at = %s WHERE id = %s AND sent_at IS NULL"

_RETRIED: Final = (errors.SerializationFailure, errors.DeadlockDetected)


def _text(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character", field=field)
    return storable(value, field)


class PostgresWorkOrders(HoldsConnection, WorkOrders, Outbox):
    """`WorkOrders` and `Outbox` on one PostgreSQL database; `dsn` is a libpq URI."""

    _db: psycopg.Connection[tuple[object, ...]]

    def __init__(self, dsn: str, *, attempts: int = 20) -> None:
        self.dsn = dsn
        self._attempts = attempts
        self._db = psycopg.connect(dsn, autocommit=True)
        self._migrate()

    # --- transactions -------------------------------------------------------------------

    def _transaction(self, work: Callable[[psycopg.Connection[tuple[object, ...]]], _T]) -> _T:
        """`work` in one transaction, again after a serialization failure or deadlock."""
        for attempt in itertools.count(1):
            try:
                with self._db.transaction():
                    return work(self._db)
            except _RETRIED as error:
                if attempt >= self._attempts:
                    raise ConcurrencyError(
                        f"the transaction failed to serialize {attempt} times; try again"
                    ) from None
                log.debug("%s (attempt %d); retrying", type(error).__name__, attempt)
                time.sleep(min(0.001 * 2**attempt, 0.05))
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def _migrate(self) -> None:
        def migrate(db: psycopg.Connection[tuple[object, ...]]) -> None:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            db.execute(SCHEMA_VERSION_TABLE)
            applied = {int(str(v)) for (v,) in db.execute("SELECT version FROM schema_version")}
            for migration in pending("postgres", applied):
                db.execute(migration.script.encode())
                db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, pendulum.now(pendulum.UTC).isoformat()),
                )

        self._transaction(migrate)

    def schema_version(self) -> int:
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(str(row[0])) if row else 0

    # --- WorkOrders -----------------------------------------------------------------------

    def get(self, order_id: str) -> WorkOrder:
        # text with NUL cannot be stored here, so no order has such an id
        rows = [] if "\x00" in order_id else self._db.execute(_EVENTS_OF, (order_id,)).fetchall()
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
            order_id = _text(order.id, "order_id")
            for event in order.events[expected_version:]:
                _text(event.actor.id, "actor id")
            events.extend(event_rows(order, expected_version))
            last[order.id] = order.events[-1].at
            works = order.works
            row = (
                order.state.value,
                order.version,
                works.claim_deadline,
                works.due,
                last[order.id],
            )
            if expected_version == 0:
                inserts.append((order_id, _text(order.customer_id, "customer_id"), *row))
            else:
                updates.append((*row, order_id, expected_version))
        outbox = [
            (
                _text(m.id, "message id"),
                _text(m.order_id, "message order_id"),
                _text(m.customer_id, "message customer_id"),
                m.kind.value,
                dumps_facts(m.facts),
                at,
            )
            for m, at in zip(messages, created_at(messages, last), strict=True)
        ]

        def write(db: psycopg.Connection[tuple[object, ...]]) -> None:
            with db.cursor() as cursor:
                cursor.executemany(_INSERT_ORDER, inserts)
                for update in updates:
                    cursor.execute(_UPDATE_ORDER, update)
                    if cursor.rowcount != 1:
                        found = cursor.execute(_VERSION_OF, (update[-2],)).fetchone()
                        raise ConcurrencyError(
                            f"order {update[-2]!r} is at version {found[0] if found else 0}, "
                            f"not {update[-1]}"
                        )
                cursor.executemany(_INSERT_EVENT, events)
                cursor.executemany(_INSERT_MESSAGE, outbox)

        try:
            self._transaction(write)
        except errors.UniqueViolation:
            raise ConcurrencyError("an order was saved by someone else first") from None

    def by_customer(self, customer_id: str) -> Sequence[WorkOrder]:
        if "\x00" in customer_id:
            return []
        return self._orders(_BY_CUSTOMER, customer_id)

    def by_state(self, *states: State) -> Sequence[WorkOrder]:
        return self._orders(_BY_STATE, [s.value for s in states])

    # --- queries for hosts' jobs ----------------------------------------------------------

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]:
        """Completed orders whose claim deadline is before `now`: the closing job's list."""
        return self._orders(_CLAIM_WINDOW_ENDED, require_aware(now, field="now"))

    def overdue(self, now: datetime) -> Sequence[WorkOrder]:
        """Scheduled or started orders whose announced completion date is before `now`."""
        return self._orders(_OVERDUE, require_aware(now, field="now"))

    def verify_replay(self, order_id: str) -> Sequence[str]:
        """How the stored order row differs from replaying its events; empty when equal."""

        def read(
            db: psycopg.Connection[tuple[object, ...]],
        ) -> tuple[tuple[object, ...] | None, list[str]]:
            row = db.execute(_ORDER_ROW, (order_id,)).fetchone()
            return row, [str(p) for (p,) in db.execute(_EVENTS_OF, (order_id,))]

        row, payloads = self._transaction(read)
        return replay_differences(order_id, row, payloads, instant=lambda at: at)

    def _orders(self, query: str, parameter: object) -> list[WorkOrder]:
        return orders_from_rows(self._db.execute(query, (parameter,)).fetchall())

    # --- Outbox -----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> Sequence[Message]:
        rows = self._db.execute(_PENDING, (limit,)).fetchall()
        return [
            Message(str(i), str(o), str(c), loads_facts(MessageKind(k), str(b)))
            for i, o, c, k, b in rows
        ]

    def mark_sent(self, message_id: str, sent_at: pendulum.DateTime) -> None:
        at = require_aware(sent_at, field="sent_at")
        self._db.execute(_MARK_SENT, (at, _text(message_id, "message id")))


# --- the host's side: customers and billing in the same database -----------------------------

_CUSTOMER: Final = "SELECT id FROM customers WHERE id = %s"
_CUSTOMER_TARGETS: Final = (
    "SELECT kind, name, maintained FROM customer_targets WHERE customer_id = %s ORDER BY kind, name"
)
_PUT_CUSTOMER: Final = "INSERT INTO customers (id) VALUES (%s) ON CONFLICT (id) DO NOTHING"
_LOCK_CUSTOMER: Final = "SELECT id FROM customers WHERE id = %s FOR UPDATE"
_FORGET_TARGETS: Final = "DELETE FROM customer_targets WHERE customer_id = %s"
_PUT_TARGET: Final = (
    "INSERT INTO customer_targets (customer_id, kind, name, maintained) VALUES (%s, %s, %s, %s)"
)
_PUT_INVOICE: Final = (
    "INSERT INTO billing_invoices (idempotency_key, order_id, amount, currency)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING"
)
_INVOICE: Final = (
    "SELECT position, order_id, amount, currency FROM billing_invoices WHERE idempotency_key = %s"
)
_INVOICES: Final = "SELECT position, order_id, amount, currency FROM billing_invoices ORDER BY 1"
_PUT_REFUND: Final = (
    "INSERT INTO billing_refunds (idempotency_key, payment_id, amount, currency)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING"
)
_REFUND: Final = (
    "SELECT position, payment_id, amount, currency FROM billing_refunds WHERE idempotency_key = %s"
)
_REFUNDS: Final = "SELECT position, payment_id, amount, currency FROM billing_refunds ORDER BY 1"
#: Per kind of ledger entry: the field of its owner, the statements adding and finding it.
_LEDGER: Final[Mapping[type[Invoice | RefundReceipt], tuple[str, str, str]]] = {
    Invoice: ("order_id", _PUT_INVOICE, _INVOICE),
    RefundReceipt: ("payment_id", _PUT_REFUND, _REFUND),
}


def _connect_migrated(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the database `dsn` names, its schema brought up to date first."""
    with PostgresWorkOrders(dsn):  # opening it applies migrations
        pass
    return psycopg.connect(dsn, autocommit=True)


class PostgresCustomerDirectory(HoldsConnection, CustomerDirectory):
    """The hosting's customers in PostgreSQL: targets and Site Maintenance in tables."""

    _db: psycopg.Connection[tuple[object, ...]]

    def __init__(self, dsn: str) -> None:
        self._db = _connect_migrated(dsn)

    def find(self, customer_id: str) -> Customer | None:
        if "\x00" in customer_id:  # no such id can be stored
            return None
        with self._db.transaction():
            if self._db.execute(_CUSTOMER, (customer_id,)).fetchone() is None:
                return None
            rows = self._db.execute(_CUSTOMER_TARGETS, (customer_id,)).fetchall()
        return customer_from_rows(customer_id, rows)

    def put(self, customer: Customer) -> None:
        """Add a customer or replace what is known of them (a subscription ended, say)."""
        rows = [
            (_text(c, "customer id"), kind, _text(name, kind), maintained)
            for c, kind, name, maintained in target_rows(customer)
        ]
        customer_id = _text(customer.id, "customer id")
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute(_PUT_CUSTOMER, (customer_id,))
            cursor.execute(_LOCK_CUSTOMER, (customer_id,))  # one writer per customer at once
            cursor.execute(_FORGET_TARGETS, (customer_id,))
            cursor.executemany(_PUT_TARGET, rows)


class PostgresBilling(HoldsConnection, Billing):
    """A billing ledger in PostgreSQL: invoices and refunds, once per idempotency key."""

    _db: psycopg.Connection[tuple[object, ...]]

    def __init__(self, dsn: str) -> None:
        self._db = _connect_migrated(dsn)

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        return self._entry(Invoice, order_id, amount, idempotency_key).reference

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        return self._entry(RefundReceipt, payment_id, amount, idempotency_key).reference

    def _entry(self, kind: type[Entry], owner: str, amount: Money, idempotency_key: str) -> Entry:
        """The entry of `kind` under the key: added now, or the same one added before."""
        field, statement, query = _LEDGER[kind]
        key = _text(idempotency_key, "idempotency key")
        asked = (key, _text(owner, field), amount.amount, amount.currency)
        with self._db.transaction():
            self._db.execute(statement, asked)
            kept = self._db.execute(query, (key,)).fetchone()
        return same_entry(kind, _kept(kept, key), owner, amount, key)

    def invoices(self) -> Sequence[Invoice]:
        """Every invoice, oldest first."""
        return [ledger_entry(Invoice, row) for row in self._db.execute(_INVOICES)]

    def refunds(self) -> Sequence[RefundReceipt]:
        """Every refund paid out, oldest first."""
        return [ledger_entry(RefundReceipt, row) for row in self._db.execute(_REFUNDS)]


def _kept(row: tuple[object, ...] | None, key: str) -> tuple[object, ...]:
    """The ledger row under `key`, which the transaction just added or found."""
    if row is None:  # pragma: no cover - ON CONFLICT DO NOTHING leaves the earlier row
        raise AssertionError(f"no ledger row under {key!r}")
    return row
