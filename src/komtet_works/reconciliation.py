"""Reconciliation: a store's record of money checked against the billing system's books.

Rule K5.  Every payment billing holds was reported and is applied to exactly one order or
held unapplied; nothing is refunded twice, beyond its payment, or without one; each
order's paid and refunded equal what billing holds for its payments; each unapplied
payment the store says is refunded is refunded in billing, and no other.  `reconcile`
lists every difference; an empty list is a store and a ledger that agree to the kopeck.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence

import attrs

from komtet_works.domain.intake import ReportedPayment
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports.billing import BillingLedger, ReceivedPayment, RefundReceipt
from komtet_works.ports.work_orders import WorkOrders


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
        *_orders(books),
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
    """Each refund is of a payment billing holds, at most its amount, and the only one."""
    for refund in books.refunds:
        payment = books.billed.get(refund.payment_id)
        if payment is None:
            yield Difference(
                "refund_without_payment",
                f"billing refunded {refund.amount} ({refund.reference!r}) of payment "
                f"{refund.payment_id!r}, which it does not hold",
            )
        elif refund.amount > payment.amount:
            yield Difference(
                "refund_exceeds_payment",
                f"refund {refund.reference!r} of {refund.amount} exceeds payment "
                f"{refund.payment_id!r} of {payment.amount}",
            )
    for payment_id, count in Counter(r.payment_id for r in books.refunds).items():
        if count > 1:
            yield Difference(
                "refunded_twice", f"billing refunded payment {payment_id!r} {count} times"
            )


def _orders(books: _Books) -> Iterator[Difference]:
    """Each order's paid and refunded are what billing holds for its payments."""
    refunded = books.first_refunds
    for order in books.orders:
        ledger = order.ledger
        ids = [p.id for p in ledger.payments]
        paid = _sum([books.billed[i].amount for i in ids if i in books.billed], ledger.currency)
        back = _sum([refunded[i].amount for i in ids if i in refunded], ledger.currency)
        if ledger.paid != paid:
            yield Difference(
                "paid_differs", f"order {order.id!r} has paid {ledger.paid}; billing holds {paid}"
            )
        if ledger.refunded != back:
            yield Difference(
                "refunded_differs",
                f"order {order.id!r} has refunded {ledger.refunded}; billing refunded {back}",
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
