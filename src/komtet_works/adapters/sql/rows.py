"""Rows that both SQL stores share: work orders and their events, customers, the ledger.

The SQL differs between SQLite and PostgreSQL; what a row means does not, so it is
written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeVar

import attrs

from komtet_works.adapters.codec import (
    ORDER_FORMAT,
    dumps_event_at,
    loads_event,
    loads_order,
    storable,
)
from komtet_works.domain.customers import Customer, TargetKind
from komtet_works.domain.errors import BillingFailed, InvalidInput, UnknownOrder
from komtet_works.domain.lifecycle import ActorKind, State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import Message
from komtet_works.ports.billing import Invoice, RefundReceipt

Entry = TypeVar("Entry", Invoice, RefundReceipt)

#: The prefix of the references the ledger gives, followed by the row's position.
PREFIXES: Final[dict[type[Invoice | RefundReceipt], str]] = {Invoice: "inv", RefundReceipt: "rf"}


#: The columns of an order row that replaying its events must give again.
ORDER_COLUMNS: Final = ("customer_id", "state", "version", "claim_deadline", "due")


#: (order_id, seq, type, at, actor_kind, actor_id, before, after, payload); `at` in ISO 8601.
EventRow = tuple[str, int, str, str, object, str, object, object, str]

#: Values of the enums in rows, looked up: `Enum.value` is a Python-level property.
VALUES: Final[Mapping[State | ActorKind | None, str | None]] = {
    None: None,
    **{member: member.value for member in (*State, *ActorKind)},
}


def event_rows(order: WorkOrder, expected_version: int) -> list[EventRow]:
    """The rows of the events `order` has beyond `expected_version` (`ConcurrencyError` if
    they are not all in it: `WorkOrder.events_since`)."""
    rows: list[EventRow] = []
    for seq, event in enumerate(order.events_since(expected_version), start=expected_version + 1):
        at, payload = dumps_event_at(event)
        actor = event.actor
        kind, before, after = VALUES[actor.kind], VALUES[event.before], VALUES[event.after]
        rows.append(
            (order.id, seq, type(event).__name__, at, kind, actor.id, before, after, payload)
        )
    return rows


def created_at(messages: Sequence[Message], last: Mapping[str, datetime]) -> list[datetime]:
    """When each message was made: the last step of its order in the batch, else the latest.

    `last` maps each order of the batch to its last step's instant.  Instants are
    compared, not their ISO 8601 texts, which do not sort in time across UTC offsets.
    Messages with no order in the batch cannot be dated: `InvalidInput`.
    """
    if not last:
        if messages:
            raise InvalidInput(
                "messages are saved with the orders they are about", field="messages"
            )
        return []
    latest = max(last.values())
    return [last.get(message.order_id, latest) for message in messages]


def replayed(order_id: str, payloads: Sequence[object]) -> WorkOrder:
    """The order whose stored event payloads are `payloads`; none: `UnknownOrder`."""
    if not payloads:
        raise UnknownOrder(f"no work order {order_id!r}")
    return WorkOrder.replay(loads_event(str(payload)) for payload in payloads)


def order_from_row(row: Sequence[object], payloads: Callable[[str], Sequence[object]]) -> WorkOrder:
    """The order of an (id, snapshot_format, snapshot) row: decoded from its stored state,
    or, where there is none in the format this code writes, replayed from the event
    payloads `payloads(order_id)` gives (the lazy fill of migration 0007)."""
    order_id, written_in, snapshot = row
    if written_in == ORDER_FORMAT and snapshot is not None:
        return loads_order(str(snapshot))
    return replayed(str(order_id), payloads(str(order_id)))


def replay_differences(
    order_id: str,
    row: Sequence[object] | None,
    payloads: Sequence[object],
    *,
    instant: Callable[[datetime | None], object],
) -> list[str]:
    """How the stored order row (`ORDER_COLUMNS`) differs from replaying its events.

    `instant` turns a replayed instant into the form the store keeps it in.
    """
    if row is None:
        raise UnknownOrder(f"no work order {order_id!r}")
    order = WorkOrder.replay(loads_event(str(payload)) for payload in payloads)
    *columns, written_in, snapshot = row
    differences = []
    if written_in == ORDER_FORMAT and snapshot is not None and loads_order(str(snapshot)) != order:
        differences.append("snapshot: the stored state is not what replay gives")
    again = (
        order.customer_id,
        order.state.value,
        order.version,
        instant(order.works.claim_deadline),
        instant(order.works.due),
    )
    return [
        f"{name}: stored {stored!r}, replay gives {replay!r}"
        for name, stored, replay in zip(ORDER_COLUMNS, columns, again, strict=True)
        if stored != replay
    ] + differences


def _name(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    return storable(value, field)


def target_rows(customer: Customer) -> list[tuple[str, str, str, bool]]:
    """(customer_id, kind, name, maintained) rows of `customer`'s sites and servers.

    A maintained site must be one of the customer's sites: the subscription is for it.
    """
    customer_id = _name(customer.id, "customer id")
    strays = customer.maintained_sites - customer.sites
    if strays:
        raise InvalidInput(
            f"maintained sites must be sites of the customer: {', '.join(sorted(strays))}",
            field="maintained",
        )
    sites = [
        (customer_id, TargetKind.SITE.value, _name(site, "site"), site in customer.maintained_sites)
        for site in sorted(customer.sites)
    ]
    servers = [
        (customer_id, TargetKind.SERVER.value, _name(server, "server"), False)
        for server in sorted(customer.servers)
    ]
    return sites + servers


def customer_from_rows(customer_id: str, rows: Iterable[tuple[object, ...]]) -> Customer:
    """The customer whose (kind, name, maintained) target rows are `rows`."""
    sites: set[str] = set()
    servers: set[str] = set()
    maintained: set[str] = set()
    for kind, name, is_maintained in rows:
        target = str(name)
        if kind == TargetKind.SITE.value:
            sites.add(target)
            if is_maintained:
                maintained.add(target)
        else:
            servers.add(target)
    return Customer(
        customer_id,
        sites=frozenset(sites),
        servers=frozenset(servers),
        maintained_sites=frozenset(maintained),
    )


def ledger_entry(kind: type[Entry], row: tuple[object, ...]) -> Entry:
    """An invoice or refund from its (position, owner id, amount, currency) row."""
    position, owner, amount, currency = row
    return kind(f"{PREFIXES[kind]}-{position}", str(owner), Money.of(str(amount), str(currency)))


def same_entry(
    kind: type[Entry], row: tuple[object, ...], owner: str, amount: Money, key: str
) -> Entry:
    """The entry kept under `key`, which must be the one asked for now.

    One key asked again for the same thing gives the same entry; for another payment or
    amount it is a caller's mistake, refused before any money moves.
    """
    entry = ledger_entry(kind, row)
    _, *kept = attrs.astuple(entry, recurse=False)  # (reference, owner id, amount)
    if [owner, amount] != kept:
        raise BillingFailed(
            f"idempotency key {key!r} was used before for {kept[0]!r} and {kept[1]}"
        )
    return entry
