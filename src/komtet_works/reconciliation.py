"""Reconciliation: a store's record of money checked against the billing system's books.

Rule K5.  Every payment billing holds was reported and is applied to exactly one order or
held unapplied; nothing is refunded twice, beyond its payment (its refunds in parts added
up, rule I4), or without one; each order's paid and refunded equal what billing holds for
its payments (with the refunds of unused hours still in the billing outbox); each unapplied
payment the store says is refunded is refunded in billing, and no other.  `reconcile`
lists every difference; an empty list is a store and a ledger that agree to the kopeck.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import attrs

from komtet_works.domain.commands import RefundUnusedHours
from komtet_works.domain.intake import ReportedPayment
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports.billing import BillingLedger, ReceivedPayment, RefundReceipt
from komtet_works.ports.work_orders import WorkOrders

#: More billing commands than one order ever has pending.
_ALL_OF_AN_ORDER: Final = 10_000


@attrs.frozen
class Difference:
    """One way the store and the billing ledger disagree: a stable `code` and the facts."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@attrs.frozen
class _Books:
    """Both sides, indexed once."""

    orders: Sequence[WorkOrder]
    reported: Mapping[str, ReportedPayment]
    billed: Mapping[str, ReceivedPayment]
    refunds: Sequence[RefundReceipt]

    @property
    def refunded(self) -> dict[str, list[Money]]:
        """Each refunded payment's refunds, oldest first."""
        amounts: defaultdict[str, list[Money]] = defaultdict(list)
        for refund in self.refunds:
            amounts[refund.payment_id].append(refund.amount)
        return dict(amounts)

    @property
    def first_refunds(self) -> dict[str, RefundReceipt]:
        first: dict[str, RefundReceipt] = {}
        for refund in self.refunds:
            first.setdefault(refund.payment_id, refund)
        return first


def reconcile(store: WorkOrders, ledger: BillingLedger) -> list[Difference]:
    """Every difference between `store` (its orders and intake) and billing's `ledger`."""
    books = _Books(
        orders=store.by_state(*State),
        reported={p.id: p for p in store.payments()},
        billed={p.reference: p for p in ledger.payments()},
        refunds=ledger.refunds(),
    )
    return [
        *_payments_billed(books),
        *_payments_reported(books),
        *_refunds(books),
        *_orders(store, books),
        *_unapplied_refunds(books),
    ]


def _payments_billed(books: _Books) -> Iterator[Difference]:
    """Each payment billing holds was reported, with the same order and amount."""
    for held in books.billed.values():
        report = books.reported.get(held.reference)
        if report is None:
            yield Difference(
                "payment_not_recorded",
                f"billing holds payment {held.reference!r} of {held.amount} for order "
                f"{held.order_id!r}; the store has no record of it",
            )
        elif (report.order_id, report.payment.amount) != (held.order_id, held.amount):
            yield Difference(
                "payment_facts_differ",
                f"payment {held.reference!r}: billing has {held.amount} for order "
                f"{held.order_id!r}, the store {report.payment.amount} for order "
                f"{report.order_id!r}",
            )


def _payments_reported(books: _Books) -> Iterator[Difference]:
    """Each reported payment is billing's, and held by exactly its order, or by none."""
    holders: defaultdict[str, list[str]] = defaultdict(list)
    for order in books.orders:
        for accepted in order.ledger.payments:
            holders[accepted.id].append(order.id)
    for report in books.reported.values():
        if report.id not in books.billed:
            yield Difference(
                "payment_unknown_to_billing",
                f"the store recorded payment {report.id!r}; billing holds no such payment",
            )
        expected = [report.order_id] if report.applied else []
        if holders.get(report.id, []) != expected:
            held = "applied to" if report.applied else "unapplied for"
            yield Difference(
                "payment_misapplied",
                f"payment {report.id!r} is {held} order {report.order_id!r}, but held by "
                f"orders {holders.get(report.id, [])!r}",
            )


def _refunds(books: _Books) -> Iterator[Difference]:
    """Each refund is of a payment billing holds; a payment's refunds add up to at most its
    amount (rule I4), and are no more than the store's records of it: one refund of an
    unapplied payment, those of its order's ledger for an applied one (a payment may be
    refunded in parts: the unused hours, then the rest, rule H2)."""
    for refund in books.refunds:
        if refund.payment_id not in books.billed:
            yield Difference(
                "refund_without_payment",
                f"billing refunded {refund.amount} ({refund.reference!r}) of payment "
                f"{refund.payment_id!r}, which it does not hold",
            )
    for payment_id, amounts in books.refunded.items():
        payment = books.billed.get(payment_id)
        total = _sum(amounts, amounts[0].currency)
        if payment is not None and total > payment.amount:
            yield Difference(
                "refund_exceeds_payment",
                f"billing refunded {total} in {len(amounts)} refund(s) of payment "
                f"{payment_id!r} of {payment.amount}",
            )
    recorded = Counter(r.payment_id for o in books.orders for r in o.ledger.refunds)
    for payment_id, amounts in books.refunded.items():
        if len(amounts) > max(recorded[payment_id], 1):
            yield Difference(
                "refunded_twice",
                f"billing refunded payment {payment_id!r} {len(amounts)} times",
            )


def _orders(store: WorkOrders, books: _Books) -> Iterator[Difference]:
    """Each order's paid and refunded are what billing holds for its payments; a refund of
    unused hours committed with the completion and still in the billing outbox counts as
    on its way (rule H2)."""
    refunded = books.refunded
    for order in books.orders:
        ledger = order.ledger
        ids = [p.id for p in ledger.payments]
        paid = _sum([books.billed[i].amount for i in ids if i in books.billed], ledger.currency)
        back = _sum([m for i in ids for m in refunded.get(i, [])], ledger.currency)
        if ledger.paid != paid:
            yield Difference(
                "paid_differs", f"order {order.id!r} has paid {ledger.paid}; billing holds {paid}"
            )
        if ledger.refunded != back and ledger.refunded != back + _on_its_way(store, order):
            yield Difference(
                "refunded_differs",
                f"order {order.id!r} has refunded {ledger.refunded}; billing refunded {back}",
            )


def _on_its_way(store: WorkOrders, order: WorkOrder) -> Money:
    """The refunds of unused hours the order's completion committed that billing has not
    made yet (read only for an order whose refunded differs)."""
    pending = store.pending_commands(_ALL_OF_AN_ORDER, order_id=order.id)
    return _sum(
        [c.amount for c in pending if isinstance(c, RefundUnusedHours)], order.ledger.currency
    )


def _unapplied_refunds(books: _Books) -> Iterator[Difference]:
    """An unapplied payment is refunded in billing exactly when the store says so."""
    refunded = books.first_refunds
    for report in books.reported.values():
        receipt = refunded.get(report.id)
        if not report.applied and (report.refund_reference is None) is not (receipt is None):
            yield Difference(
                "unapplied_refund_differs",
                f"unapplied payment {report.id!r}: the store has refund "
                f"{report.refund_reference!r}, billing "
                f"{None if receipt is None else receipt.reference!r}",
            )


def _sum(amounts: Sequence[Money], currency: str) -> Money:
    return sum(amounts, Money.zero(currency))
