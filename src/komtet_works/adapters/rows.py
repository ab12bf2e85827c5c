"""Rows of the host-side tables (customers, the billing ledger) that both SQL stores share.

The SQL differs between SQLite and PostgreSQL; what a row means does not, so it is
written once here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, TypeVar

import attrs

from komtet_works.adapters.codec import storable
from komtet_works.domain.customers import Customer, TargetKind
from komtet_works.domain.errors import BillingFailed, InvalidInput
from komtet_works.domain.money import Money
from komtet_works.ports.billing import Invoice, RefundReceipt

Entry = TypeVar("Entry", Invoice, RefundReceipt)

#: The prefix of the references the ledger gives, followed by the row's position.
PREFIXES: Final[dict[type[Invoice | RefundReceipt], str]] = {Invoice: "inv", RefundReceipt: "rf"}


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
