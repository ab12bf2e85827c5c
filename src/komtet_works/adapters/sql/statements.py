"""Every SQL statement of the stores, written once for both databases.

A statement is a template: ``?`` marks a parameter (the dialect's marker replaces it), a
table is named in braces (``{work_orders}``, qualified and quoted by the store for a
PostgreSQL schema), and ``{one_of}``, ``{lock_rows}`` and ``{claim_rows}`` are the
`Dialect`'s.  Values are always parameters; only these identifiers and dialect fragments
are put in, once, when a store opens (`Statements.rendered`).

To add a statement: a field here with its template as the default; the stores call it as
``self._sql.<field>``.  To add a table: its name in `TABLES`, and its ``CREATE TABLE`` in
a new migration per dialect (``migrations/NNNN_name.sqlite.sql`` and
``NNNN_name.postgres.sql``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

from komtet_works.adapters.sql.dialect import Dialect

#: The tables a statement may name in braces.
TABLES: Final = (
    "billing_commands",
    "billing_invoices",
    "billing_payments",
    "billing_refunds",
    "billing_voids",
    "customer_targets",
    "customers",
    "outbox",
    "payment_conflicts",
    "payments",
    "schema_version",
    "work_order_events",
    "work_orders",
)


#: The outbox's due messages, each the oldest waiting of its order; ``{{of_order}}`` narrows it.
_CLAIMABLE: Final = (
    "SELECT id, order_id, customer_id, kind, body, attempts FROM {{outbox}} AS m"
    " WHERE sent_at IS NULL AND dead_at IS NULL{of_order}"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    " AND (claimed_until IS NULL OR claimed_until <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM {{outbox}} AS e WHERE e.order_id = m.order_id"
    " AND e.position < m.position AND e.sent_at IS NULL AND e.dead_at IS NULL)"
    " ORDER BY position LIMIT ?{{claim_rows}}"
)


@attrs.frozen
class Statements:
    """The statements; `Statements()` holds the templates, `rendered` one database's SQL."""

    # --- work orders and their events -------------------------------------------------
    insert_order: str = (
        "INSERT INTO {work_orders}"
        " (id, customer_id, target_kind, target, state, version, claim_deadline, due,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    update_order: str = (
        "UPDATE {work_orders} SET state = ?, version = ?, claim_deadline = ?, due = ?,"
        " updated_at = ? WHERE id = ? AND version = ?"
    )
    insert_event: str = (
        "INSERT INTO {work_order_events}"
        " (order_id, seq, type, at, actor_kind, actor_id, before, after, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    version_of: str = "SELECT version FROM {work_orders} WHERE id = ?"
    events_of: str = "SELECT payload FROM {work_order_events} WHERE order_id = ? ORDER BY seq"
    order_row: str = (
        "SELECT customer_id, state, version, claim_deadline, due FROM {work_orders} WHERE id = ?"
    )
    by_customer: str = (
        "SELECT e.order_id, e.payload FROM {work_orders} AS o"
        " JOIN {work_order_events} AS e ON e.order_id = o.id"
        " WHERE o.customer_id = ? ORDER BY o.position, e.seq"
    )
    by_state: str = (
        "SELECT e.order_id, e.payload FROM {work_orders} AS o"
        " JOIN {work_order_events} AS e ON e.order_id = o.id"
        " WHERE o.state{one_of} ORDER BY o.position, e.seq"
    )
    claim_window_ended: str = (
        "SELECT e.order_id, e.payload FROM {work_orders} AS o"
        " JOIN {work_order_events} AS e ON e.order_id = o.id"
        " WHERE o.state = 'completed' AND o.claim_deadline < ? ORDER BY o.position, e.seq"
    )
    on_target: str = (
        "SELECT e.order_id, e.payload FROM {work_orders} AS o"
        " JOIN {work_order_events} AS e ON e.order_id = o.id"
        " WHERE o.target_kind = ? AND o.target = ? ORDER BY o.position, e.seq"
    )
    overdue: str = (
        "SELECT e.order_id, e.payload FROM {work_orders} AS o"
        " JOIN {work_order_events} AS e ON e.order_id = o.id"
        " WHERE o.state IN ('scheduled', 'in_progress') AND o.due < ?"
        " ORDER BY o.position, e.seq"
    )

    # --- the outbox -------------------------------------------------------------------
    insert_message: str = (
        "INSERT INTO {outbox} (id, order_id, customer_id, kind, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
    )
    pending: str = (
        "SELECT id, order_id, customer_id, kind, body, attempts FROM {outbox}"
        " WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY position LIMIT ?"
    )
    mark_sent: str = "UPDATE {outbox} SET sent_at = ? WHERE id = ? AND sent_at IS NULL"
    #: The messages due now (never tried, or their retry time come, and no worker's lease
    #: on them) that are the oldest of their order still waiting: an order's next message
    #: waits for the one before, which a message parked as dead no longer holds back.
    claimable: str = _CLAIMABLE.format(of_order="")
    #: The same, of one order.
    claimable_of: str = _CLAIMABLE.format(of_order=" AND order_id = ?")
    lease: str = "UPDATE {outbox} SET claimed_until = ? WHERE id = ?"
    failed: str = (
        "UPDATE {outbox} SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
        " dead_at = ?, claimed_until = NULL WHERE id = ? AND sent_at IS NULL AND dead_at IS NULL"
    )
    unreadable: str = (
        "UPDATE {outbox} SET last_error = ?, dead_at = ?, claimed_until = NULL WHERE id = ?"
    )
    dead_letters: str = (
        "SELECT id, order_id, kind, attempts, last_error, dead_at FROM {outbox}"
        " WHERE dead_at IS NOT NULL AND sent_at IS NULL ORDER BY position LIMIT ?"
    )
    requeue: str = (
        "UPDATE {outbox} SET dead_at = NULL, attempts = 0, next_attempt_at = NULL,"
        " claimed_until = NULL WHERE id = ? AND dead_at IS NOT NULL AND sent_at IS NULL"
    )

    # --- the payments intake and the billing outbox --------------------------------------
    insert_payment: str = (
        "INSERT INTO {payments} (id, order_id, amount, currency, received_at, refused)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    )
    payment: str = (
        "SELECT id, order_id, amount, currency, received_at, refused, refund_reference"
        " FROM {payments} WHERE id = ?"
    )
    payments: str = (
        "SELECT id, order_id, amount, currency, received_at, refused, refund_reference"
        " FROM {payments} ORDER BY position"
    )
    unapplied_refunded: str = (
        "UPDATE {payments} SET refund_reference = ?"
        " WHERE id = ? AND refused IS NOT NULL AND refund_reference IS NULL"
    )
    insert_conflict: str = (
        "INSERT INTO {payment_conflicts}"
        " (payment_id, order_id, amount, currency, received_at, code) VALUES (?, ?, ?, ?, ?, ?)"
    )
    conflicts: str = (
        "SELECT payment_id, order_id, amount, currency, received_at, code"
        " FROM {payment_conflicts} ORDER BY position"
    )
    insert_command: str = (
        "INSERT INTO {billing_commands} (id, order_id, kind, payload) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING"
    )
    pending_commands: str = (
        "SELECT kind, payload FROM {billing_commands}"
        " WHERE done_at IS NULL ORDER BY position LIMIT ?"
    )
    pending_commands_of: str = (
        "SELECT kind, payload FROM {billing_commands}"
        " WHERE done_at IS NULL AND order_id = ? ORDER BY position LIMIT ?"
    )
    command_done: str = (
        "UPDATE {billing_commands} SET done_at = ?, result = ? WHERE id = ? AND done_at IS NULL"
    )
    command_result: str = (
        "SELECT result FROM {billing_commands} WHERE id = ? AND done_at IS NOT NULL"
    )

    # --- the customer directory -------------------------------------------------------
    customer: str = "SELECT id FROM {customers} WHERE id = ?"
    customer_targets: str = (
        "SELECT kind, name, maintained FROM {customer_targets}"
        " WHERE customer_id = ? ORDER BY kind, name"
    )
    put_customer: str = "INSERT INTO {customers} (id) VALUES (?) ON CONFLICT (id) DO NOTHING"
    lock_customer: str = "SELECT id FROM {customers} WHERE id = ?{lock_rows}"
    forget_targets: str = "DELETE FROM {customer_targets} WHERE customer_id = ?"
    put_target: str = (
        "INSERT INTO {customer_targets} (customer_id, kind, name, maintained) VALUES (?, ?, ?, ?)"
    )

    # --- the billing ledger -----------------------------------------------------------
    put_invoice: str = (
        "INSERT INTO {billing_invoices} (idempotency_key, order_id, amount, currency)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"
    )
    invoice: str = (
        "SELECT position, order_id, amount, currency FROM {billing_invoices}"
        " WHERE idempotency_key = ?"
    )
    invoices: str = "SELECT position, order_id, amount, currency FROM {billing_invoices} ORDER BY 1"
    put_refund: str = (
        "INSERT INTO {billing_refunds} (idempotency_key, payment_id, amount, currency)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"
    )
    refund: str = (
        "SELECT position, payment_id, amount, currency FROM {billing_refunds}"
        " WHERE idempotency_key = ?"
    )
    refunds: str = "SELECT position, payment_id, amount, currency FROM {billing_refunds} ORDER BY 1"
    #: a payment's refunds under other keys, its row locked: parts never add up to more
    #: than the payment (rule I4)
    refunds_of: str = (
        "SELECT amount, currency FROM {billing_refunds}"
        " WHERE payment_id = ? AND idempotency_key <> ?"
    )
    lock_received: str = (
        "SELECT reference, order_id, amount, currency FROM {billing_payments}"
        " WHERE reference = ?{lock_rows}"
    )
    put_received: str = (
        "INSERT INTO {billing_payments} (reference, order_id, amount, currency)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING"
    )
    received: str = (
        "SELECT reference, order_id, amount, currency FROM {billing_payments} WHERE reference = ?"
    )
    all_received: str = (
        "SELECT reference, order_id, amount, currency FROM {billing_payments} ORDER BY position"
    )
    put_void: str = (
        "INSERT INTO {billing_voids} (idempotency_key, invoice) VALUES (?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING"
    )
    void: str = "SELECT invoice FROM {billing_voids} WHERE idempotency_key = ?"
    voids: str = "SELECT invoice FROM {billing_voids} ORDER BY position"

    # --- migrations -------------------------------------------------------------------
    create_schema_version: str = (
        "CREATE TABLE IF NOT EXISTS {schema_version} ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    schema_versions: str = "SELECT version FROM {schema_version}"
    insert_schema_version: str = (
        "INSERT INTO {schema_version} (version, name, applied_at) VALUES (?, ?, ?)"
    )

    def rendered(self, dialect: Dialect, table: Callable[[str], str] = str) -> Statements:
        """These statements in `dialect`, each table named as `table` spells it."""
        fragments = {
            "one_of": dialect.one_of,
            "lock_rows": dialect.lock_rows,
            "claim_rows": dialect.claim_rows,
        }
        names = fragments | {name: table(name) for name in TABLES}
        return Statements(
            **{
                field.name: getattr(self, field.name)
                .replace("?", dialect.placeholder)
                .format_map(names)
                for field in attrs.fields(Statements)
            }
        )


#: The templates.
TEMPLATES: Final = Statements()
