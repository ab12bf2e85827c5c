"""The stores, written once over a `Database`: work orders with their outbox, customers, billing.

`komtet_works.adapters.sqlite` and `komtet_works.adapters.postgres` provide the
`Database` (a connection, its transactions, its driver's errors mapped to the library's)
and name the classes; what the statements mean and how rows become orders is here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, Self, TypeVar

import pendulum

from komtet_works.adapters.codec import dumps_facts, loads_facts, storable
from komtet_works.adapters.sql.dialect import Dialect
from komtet_works.adapters.sql.migrations import pending
from komtet_works.adapters.sql.money_rows import (
    command_from_row,
    command_row,
    conflict_from_row,
    payment_facts,
    report_from_row,
)
from komtet_works.adapters.sql.rows import (
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
from komtet_works.adapters.sql.statements import Statements
from komtet_works.domain.commands import BillingCommand
from komtet_works.domain.customers import Customer, Target
from komtet_works.domain.errors import (
    BillingFailed,
    ConcurrencyError,
    ConstraintViolated,
    InvalidInput,
    TargetBusy,
)
from komtet_works.domain.instants import require_aware
from komtet_works.domain.intake import ConflictingReport, ReportedPayment
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import Billing, CustomerDirectory, Message, MessageKind, WorkOrders
from komtet_works.ports.billing import (
    BillingLedger,
    Invoice,
    ReceivedPayment,
    RefundReceipt,
    check_refund,
)
from komtet_works.ports.outbox import Claimed, DeadLetter, Delivery

_T = TypeVar("_T")

#: How each database names the index of rule T1 in a duplicate-key error: PostgreSQL by
#: the index, SQLite by its first column.
_TARGET_BUSY: Final = ("work_orders_target_busy", "work_orders.target_kind")


class Cursor(Protocol):
    """The DB-API cursor both drivers give (sqlite3, psycopg)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, query: str, params: Sequence[Any] = ..., /) -> Self: ...

    def executemany(self, query: str, params: Iterable[Sequence[Any]], /) -> object: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Database(Protocol):
    """One database as the stores use it: its dialect, its statements, its transactions.

    Both `write` and `read` map the driver's errors to the library's: a lock or
    serialization failure that outlasts the retries is `ConcurrencyError`, the rest a
    `DatabaseError` (`DatabaseUnavailable`, `ConstraintViolated`, `SchemaNotMigrated`).
    """

    @property
    def dialect(self) -> Dialect: ...

    @property
    def sql(self) -> Statements: ...

    def write(self, work: Callable[[Cursor], _T]) -> _T:
        """`work` in one transaction that may write: all of it or none of it."""
        ...

    def read(self, work: Callable[[Cursor], _T]) -> _T:
        """`work` in one transaction that reads: a consistent snapshot."""
        ...

    def run_script(self, cursor: Cursor, script: str) -> None:
        """Run a migration script of this dialect inside `migrate`'s transaction."""
        ...

    def migrating(self, work: Callable[[Cursor], _T]) -> _T:
        """`work` in the transaction that migrates, one migrating process at a time."""
        ...

    def close(self) -> None:
        """Give back what the database opened (a connection given by the host stays open)."""
        ...


class SqlStore:
    """A store on a `Database`: migrating it, its schema version, closing it."""

    def __init__(self, database: Database, *, migrate: bool = False) -> None:
        self._database = database
        self._sql = database.sql
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        """Bring the schema up to date: apply, in one transaction, the migrations not yet applied.

        Safe to call from many processes at once, and again: an applied version is never
        applied twice.  A database newer than this code: `SchemaTooNew`.
        """
        sql, dialect, database = self._sql, self._database.dialect, self._database

        def migrate(cursor: Cursor) -> None:
            cursor.execute(sql.create_schema_version)
            applied = {int(v) for (v,) in cursor.execute(sql.schema_versions).fetchall()}
            for migration in pending(dialect.name, applied):
                database.run_script(cursor, migration.script)
                cursor.execute(
                    sql.insert_schema_version,
                    (migration.version, migration.name, pendulum.now(pendulum.UTC).isoformat()),
                )

        database.migrating(migrate)

    def schema_version(self) -> int:
        """The latest migration applied to the database (0: none)."""
        versions = self._database.read(
            lambda cursor: cursor.execute(self._sql.schema_versions).fetchall()
        )
        return max((int(v) for (v,) in versions), default=0)

    def close(self) -> None:
        self._database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _text(self, value: str, field: str) -> str:
        """`value` if this database keeps it exactly; otherwise `InvalidInput`."""
        if "\x00" in value and not self._database.dialect.keeps_nul:
            raise InvalidInput(f"{field} contains a NUL character", field=field)
        return storable(value, field)

    def _storable(self, value: str) -> bool:
        """Whether `value` could be stored here: an id that cannot be was never saved."""
        return "\x00" not in value or self._database.dialect.keeps_nul


class SqlWorkOrders(SqlStore, WorkOrders):
    """`WorkOrders` and `Outbox` in one SQL database.

    A save appends the new events, moves the order row and queues the messages in one
    transaction, checking the version with ``UPDATE ... WHERE version = ?``; the primary
    key on (order_id, seq) is the second line of defence.
    """

    # --- WorkOrders -----------------------------------------------------------------------

    def get(self, order_id: str) -> WorkOrder:
        rows = (
            self._database.read(
                lambda cursor: cursor.execute(self._sql.events_of, (order_id,)).fetchall()
            )
            if self._storable(order_id)
            else []
        )
        return replayed(order_id, [payload for (payload,) in rows])

    def save(
        self,
        order: WorkOrder,
        *,
        expected_version: int,
        messages: Sequence[Message] = (),
        commands: Sequence[BillingCommand] = (),
        payments: Sequence[ReportedPayment] = (),
    ) -> None:
        self.save_many(
            [(order, expected_version)], messages=messages, commands=commands, payments=payments
        )

    def save_many(
        self,
        changes: Sequence[tuple[WorkOrder, int]],
        *,
        messages: Sequence[Message] = (),
        commands: Sequence[BillingCommand] = (),
        payments: Sequence[ReportedPayment] = (),
    ) -> None:
        """Save several (order, expected version) pairs in one transaction: all or none.

        The batched form of `save`: one stale order (or a payment reported meanwhile)
        raises `ConcurrencyError` and no order, event, message, command or payment of the
        batch is kept.
        """
        instant = self._database.dialect.instant
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        last: dict[str, datetime] = {}
        for order, expected_version in changes:
            check_not_older(order, expected_version)
            order_id = self._text(order.id, "order_id")
            rows = event_rows(order, expected_version)
            for event_row in rows:
                self._text(event_row[5], "actor id")
            events.extend(rows)
            last[order.id] = order.events[-1].at
            works = order.works
            row = (
                VALUES[order.state],
                order.version,
                instant(works.claim_deadline),
                instant(works.due),
                rows[-1][3] if rows else last[order.id].isoformat(),
            )
            if expected_version == 0:
                inserts.append(
                    (
                        order_id,
                        self._text(order.customer_id, "customer_id"),
                        order.target.kind.value,
                        self._text(order.target.name, "target"),
                        *row,
                    )
                )
            else:
                updates.append((*row, order_id, expected_version))
        outbox = [
            (
                self._text(m.id, "message id"),
                self._text(m.order_id, "message order_id"),
                self._text(m.customer_id, "message customer_id"),
                m.kind.value,
                self._text(dumps_facts(m.facts), "message facts"),
                at.isoformat(),
            )
            for m, at in zip(messages, created_at(messages, last), strict=True)
        ]
        sql = self._sql
        queued = self._command_rows(commands)
        reported = self._payment_rows(payments)

        def write(cursor: Cursor) -> None:
            cursor.executemany(sql.insert_order, inserts)
            for update in updates:
                cursor.execute(sql.update_order, update)
                if cursor.rowcount != 1:
                    found = cursor.execute(sql.version_of, (update[-2],)).fetchone()
                    raise ConcurrencyError(
                        f"order {update[-2]!r} is at version {found[0] if found else 0}, "
                        f"not {update[-1]}"
                    )
            cursor.executemany(sql.insert_event, events)
            cursor.executemany(sql.insert_message, outbox)
            cursor.executemany(sql.insert_command, queued)
            cursor.executemany(sql.insert_payment, reported)

        self._unique(write, "an order or payment of the batch was saved by someone else")

    def _unique(self, write: Callable[[Cursor], None], meanwhile: str) -> None:
        """Run `write`; a duplicate key means someone else saved first: `ConcurrencyError`,
        or `TargetBusy` when it was the one order in works per target (rule T1)."""
        try:
            self._database.write(write)
        except ConstraintViolated as error:
            if not error.duplicate:
                raise
            if any(mark in str(error) for mark in _TARGET_BUSY):
                raise TargetBusy(
                    "the works of another order on this target are in progress"
                ) from None
            raise ConcurrencyError(meanwhile) from None

    def _command_rows(self, commands: Sequence[BillingCommand]) -> list[tuple[str, ...]]:
        rows = [command_row(command) for command in commands]
        return [
            (self._text(i, "command id"), self._text(o, "order_id"), k, p) for i, o, k, p in rows
        ]

    def _payment_rows(self, payments: Sequence[ReportedPayment]) -> list[tuple[object, ...]]:
        return [
            (
                self._text(p.id, "payment id"),
                self._text(p.order_id, "order_id"),
                *payment_facts(p.payment)[1:],
                p.refused,
            )
            for p in payments
        ]

    def by_customer(self, customer_id: str) -> Sequence[WorkOrder]:
        if not self._storable(customer_id):
            return []
        return self._orders(self._sql.by_customer, customer_id)

    def by_state(self, *states: State) -> Sequence[WorkOrder]:
        states_list = self._database.dialect.text_list([s.value for s in states])
        return self._orders(self._sql.by_state, states_list)

    # --- queries for hosts' jobs ----------------------------------------------------------

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]:
        """Completed orders whose claim deadline is before `now`: the closing job's list."""
        at = self._database.dialect.instant(require_aware(now, field="now"))
        return self._orders(self._sql.claim_window_ended, at)

    def on_target(self, target: Target) -> Sequence[WorkOrder]:
        if not self._storable(target.name):
            return []
        return orders_from_rows(
            self._database.read(
                lambda cursor: cursor.execute(
                    self._sql.on_target, (target.kind.value, target.name)
                ).fetchall()
            )
        )

    def overdue(self, now: datetime) -> Sequence[WorkOrder]:
        """Scheduled or started orders whose announced completion date is before `now`."""
        return self._orders(
            self._sql.overdue, self._database.dialect.instant(require_aware(now, field="now"))
        )

    def verify_replay(self, order_id: str) -> Sequence[str]:
        """How the stored order row differs from replaying its events; empty when equal."""
        sql = self._sql

        def read(cursor: Cursor) -> tuple[tuple[object, ...] | None, list[object]]:
            row = cursor.execute(sql.order_row, (order_id,)).fetchone()
            return row, [p for (p,) in cursor.execute(sql.events_of, (order_id,)).fetchall()]

        row, payloads = self._database.read(read)
        return replay_differences(order_id, row, payloads, instant=self._database.dialect.instant)

    def _orders(self, query: str, parameter: object) -> list[WorkOrder]:
        return orders_from_rows(
            self._database.read(lambda cursor: cursor.execute(query, (parameter,)).fetchall())
        )

    # --- Outbox -----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> Sequence[Message]:
        rows = self._database.read(
            lambda cursor: cursor.execute(self._sql.pending, (limit,)).fetchall()
        )
        return [d.message for d in map(_delivery, rows) if isinstance(d, Delivery)]

    def mark_sent(self, message_id: str, sent_at: datetime) -> None:
        at = require_aware(sent_at, field="sent_at").isoformat()
        key = self._text(message_id, "message id")
        self._database.write(lambda cursor: cursor.execute(self._sql.mark_sent, (at, key)))

    def claim(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta,
        order_id: str | None = None,
    ) -> Claimed:
        instant, sql = self._database.dialect.instant, self._sql
        at = instant(require_aware(now, field="now"))
        until = instant(now + lease)
        if order_id is not None and not self._storable(order_id):
            return Claimed()
        query, parameters = (
            (sql.claimable, (at, at, limit))
            if order_id is None
            else (sql.claimable_of, (order_id, at, at, limit))
        )

        def claim(cursor: Cursor) -> Claimed:
            read = [
                (row[0], _delivery(row)) for row in cursor.execute(query, parameters).fetchall()
            ]
            deliveries = [d for _, d in read if isinstance(d, Delivery)]
            unreadable = [(str(i), error) for i, error in read if isinstance(error, str)]
            cursor.executemany(sql.lease, [(until, d.message.id) for d in deliveries])
            cursor.executemany(
                sql.unreadable, [(error, now.isoformat(), i) for i, error in unreadable]
            )
            return Claimed(deliveries, [i for i, _ in unreadable])

        return self._database.write(claim)

    def failed(
        self, message_id: str, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        when = require_aware(at, field="at")
        row = (
            self._text(error, "error"),
            self._database.dialect.instant(when if retry_at is None else retry_at),
            when.isoformat() if retry_at is None else None,
            message_id,
        )
        if self._storable(message_id):
            self._database.write(lambda cursor: cursor.execute(self._sql.failed, row))

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        rows = self._database.read(
            lambda cursor: cursor.execute(self._sql.dead_letters, (limit,)).fetchall()
        )
        return [
            DeadLetter(str(i), str(o), str(k), int(n), str(e or ""), _instant(d))
            for i, o, k, n, e, d in rows
        ]

    def requeue(self, message_ids: Sequence[str]) -> Sequence[str]:
        keys = [i for i in dict.fromkeys(message_ids) if self._storable(i)]

        def requeue(cursor: Cursor) -> list[str]:
            return [i for i in keys if cursor.execute(self._sql.requeue, (i,)).rowcount == 1]

        return self._database.write(requeue)

    # --- the billing outbox -----------------------------------------------------------------

    def pending_commands(
        self, limit: int = 100, *, order_id: str | None = None
    ) -> Sequence[BillingCommand]:
        sql = self._sql
        if order_id is not None and not self._storable(order_id):
            return []
        query, parameters = (
            (sql.pending_commands, (limit,))
            if order_id is None
            else (sql.pending_commands_of, (order_id, limit))
        )
        rows = self._database.read(lambda cursor: cursor.execute(query, parameters).fetchall())
        return [command_from_row(kind, payload) for kind, payload in rows]

    def enqueue(self, commands: Sequence[BillingCommand]) -> None:
        rows = self._command_rows(commands)
        self._database.write(lambda cursor: cursor.executemany(self._sql.insert_command, rows))

    def mark_done(self, command_id: str, result: str) -> None:
        done = (pendulum.now(pendulum.UTC).isoformat(), self._text(result, "result"), command_id)
        if self._storable(command_id):
            self._database.write(lambda cursor: cursor.execute(self._sql.command_done, done))

    def command_result(self, command_id: str) -> str | None:
        if not self._storable(command_id):
            return None
        row = self._database.read(
            lambda cursor: cursor.execute(self._sql.command_result, (command_id,)).fetchone()
        )
        return None if row is None else str(row[0])

    # --- the payments intake ----------------------------------------------------------------

    def reported(self, payment_id: str) -> ReportedPayment | None:
        if not self._storable(payment_id):
            return None
        row = self._database.read(
            lambda cursor: cursor.execute(self._sql.payment, (payment_id,)).fetchone()
        )
        return None if row is None else report_from_row(row)

    def payments(self) -> Sequence[ReportedPayment]:
        rows = self._database.read(lambda cursor: cursor.execute(self._sql.payments).fetchall())
        return [report_from_row(row) for row in rows]

    def conflicts(self) -> Sequence[ConflictingReport]:
        rows = self._database.read(lambda cursor: cursor.execute(self._sql.conflicts).fetchall())
        return [conflict_from_row(row) for row in rows]

    def record_unapplied(
        self, report: ReportedPayment, *, commands: Sequence[BillingCommand] = ()
    ) -> None:
        reported, queued, sql = (
            self._payment_rows((report,)),
            self._command_rows(commands),
            self._sql,
        )

        def write(cursor: Cursor) -> None:
            cursor.executemany(sql.insert_payment, reported)
            cursor.executemany(sql.insert_command, queued)

        self._unique(write, f"payment {report.id!r} was reported meanwhile")

    def record_conflict(self, conflict: ConflictingReport) -> None:
        facts = payment_facts(conflict.payment)
        row = (
            self._text(facts[0], "payment id"),
            self._text(conflict.order_id, "order_id"),
            *facts[1:],
            conflict.code,
        )
        self._database.write(lambda cursor: cursor.execute(self._sql.insert_conflict, row))

    def record_unapplied_refund(self, payment_id: str, reference: str) -> None:
        row = (self._text(reference, "refund reference"), self._text(payment_id, "payment id"))
        self._database.write(lambda cursor: cursor.execute(self._sql.unapplied_refunded, row))


def _delivery(row: Sequence[Any]) -> Delivery | str:
    """The message of an outbox row and its failed tries; one that cannot be read (a row
    from before typed facts, an unknown kind, garbage): why not, as its error text."""
    message_id, order_id, customer_id, kind, body, attempts = row
    try:
        facts = loads_facts(MessageKind(kind), str(body))
    except ValueError as error:  # InvalidInput is a ValueError; so is an unknown kind
        return f"{type(error).__name__}: the stored message cannot be read"
    return Delivery(Message(str(message_id), str(order_id), str(customer_id), facts), int(attempts))


def _instant(value: object) -> datetime:
    """An instant of an ``{instant}`` column: PostgreSQL's datetime, or SQLite's ISO text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class SqlCustomerDirectory(SqlStore, CustomerDirectory):
    """The hosting's customers in tables: targets and Site Maintenance subscriptions."""

    def find(self, customer_id: str) -> Customer | None:
        if not self._storable(customer_id):
            return None
        sql = self._sql

        def read(cursor: Cursor) -> list[tuple[Any, ...]] | None:
            if cursor.execute(sql.customer, (customer_id,)).fetchone() is None:
                return None
            return cursor.execute(sql.customer_targets, (customer_id,)).fetchall()

        rows = self._database.read(read)
        return None if rows is None else customer_from_rows(customer_id, rows)

    def put(self, customer: Customer) -> None:
        """Add a customer or replace what is known of them (a subscription ended, say)."""
        rows = [
            (self._text(c, "customer id"), kind, self._text(name, kind), maintained)
            for c, kind, name, maintained in target_rows(customer)
        ]
        customer_id = self._text(customer.id, "customer id")
        sql = self._sql

        def write(cursor: Cursor) -> None:
            cursor.execute(sql.put_customer, (customer_id,))
            cursor.execute(sql.lock_customer, (customer_id,))  # one writer per customer
            cursor.execute(sql.forget_targets, (customer_id,))
            cursor.executemany(sql.put_target, rows)

        self._database.write(write)


#: Per kind of ledger entry: the field of its owner, the statements adding and finding it.
_LEDGER: Final[
    Mapping[type[Invoice | RefundReceipt], tuple[str, Callable[[Statements], tuple[str, str]]]]
] = {
    Invoice: ("order_id", lambda sql: (sql.put_invoice, sql.invoice)),
    RefundReceipt: ("payment_id", lambda sql: (sql.put_refund, sql.refund)),
}


class SqlBilling(SqlStore, Billing, BillingLedger):
    """A billing ledger in tables: invoices, payments, voids and refunds, once per key."""

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        return self._entry(Invoice, order_id, amount, idempotency_key).reference

    def void_invoice(self, *, invoice: str, idempotency_key: str) -> None:
        if invoice not in {i.reference for i in self.invoices()}:
            raise BillingFailed(f"no invoice {invoice!r} to void")
        key, sql = self._text(idempotency_key, "idempotency key"), self._sql

        def write(cursor: Cursor) -> tuple[object, ...] | None:
            cursor.execute(sql.put_void, (key, invoice))
            return cursor.execute(sql.void, (key,)).fetchone()

        kept = self._database.write(write)
        if kept is None or kept[0] != invoice:
            raise BillingFailed(f"idempotency key {idempotency_key!r} voided another invoice")

    def voided(self) -> Sequence[str]:
        """The invoices voided, oldest first."""
        return [str(invoice) for (invoice,) in self._all(self._sql.voids)]

    def receive(self, *, payment_id: str, order_id: str, amount: Money) -> ReceivedPayment:
        """A customer pays `amount` for `order_id`; billing names the payment `payment_id`."""
        asked = (
            self._text(payment_id, "payment id"),
            self._text(order_id, "order_id"),
            str(amount.amount),
            amount.currency,
        )
        sql = self._sql

        def write(cursor: Cursor) -> tuple[object, ...] | None:
            cursor.execute(sql.put_received, asked)
            return cursor.execute(sql.received, (asked[0],)).fetchone()

        kept = self._database.write(write)
        payment = ReceivedPayment(payment_id, order_id, amount)
        if kept is None or _received(kept) != payment:
            raise BillingFailed(f"payment {payment_id!r} was made before for other facts")
        return payment

    def payments(self) -> Sequence[ReceivedPayment]:
        return [_received(row) for row in self._all(self._sql.all_received)]

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        sql = self._sql

        def fits(cursor: Cursor, payment: str, key: str) -> None:
            """The payment's row locked, its refunds under other keys leave room (rule I4)."""
            held = cursor.execute(sql.lock_received, (payment,)).fetchone()
            earlier = cursor.execute(sql.refunds_of, (payment, key)).fetchall()
            check_refund(
                None if held is None else _received(held),
                [Money.of(str(value), str(currency)) for value, currency in earlier],
                amount,
            )

        return self._entry(RefundReceipt, payment_id, amount, idempotency_key, fits).reference

    def _entry(
        self,
        kind: type[Entry],
        owner: str,
        amount: Money,
        idempotency_key: str,
        fits: Callable[[Cursor, str, str], None] | None = None,
    ) -> Entry:
        """The entry of `kind` under the key: added now, or the same one added before;
        `fits(cursor, owner, key)`, in the same transaction, refuses a new one."""
        field, statements = _LEDGER[kind]
        statement, query = statements(self._sql)
        key = self._text(idempotency_key, "idempotency key")
        asked = (key, self._text(owner, field), str(amount.amount), amount.currency)

        def write(cursor: Cursor) -> tuple[object, ...]:
            if fits is not None and cursor.execute(query, (key,)).fetchone() is None:
                fits(cursor, asked[1], key)
            cursor.execute(statement, asked)
            kept: tuple[object, ...] | None = cursor.execute(query, (key,)).fetchone()
            if kept is None:  # pragma: no cover - ON CONFLICT DO NOTHING keeps the earlier row
                raise AssertionError(f"no ledger row under {key!r}")
            return kept

        return same_entry(kind, self._database.write(write), owner, amount, key)

    def invoices(self) -> Sequence[Invoice]:
        """Every invoice, oldest first."""
        return [ledger_entry(Invoice, row) for row in self._all(self._sql.invoices)]

    def refunds(self) -> Sequence[RefundReceipt]:
        """Every refund paid out, oldest first."""
        return [ledger_entry(RefundReceipt, row) for row in self._all(self._sql.refunds)]

    def _all(self, query: str) -> list[tuple[Any, ...]]:
        return self._database.read(lambda cursor: cursor.execute(query).fetchall())


def _received(row: Sequence[object]) -> ReceivedPayment:
    reference, order_id, amount, currency = row
    return ReceivedPayment(str(reference), str(order_id), Money.of(str(amount), str(currency)))
