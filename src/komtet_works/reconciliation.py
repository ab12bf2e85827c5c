"""Reconciliation: a store's record of money checked against the billing system's books.

Rule K5.  Every payment billing holds was reported and is applied to exactly one order or
held unapplied; nothing is refunded twice, beyond its payment, or without one; each
order's paid and refunded equal what billing holds for its payments; each unapplied
payment refunded is refunded in billing.  `reconcile` lists every difference; an empty
list is a store and a ledger that agree to the kopeck.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import attrs

from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports.billing import BillingLedger, ReceivedPayment, RefundReceipt
from komtet_works.ports.intake import PaymentIntake
from komtet_works.ports.work_orders import WorkOrders


@attrs.frozen
class Difference:
    """One way the store and the billing ledger disagree: a stable `code` and the facts."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def reconcile(store: WorkOrders, ledger: BillingLedger) -> list[Difference]:
    """Every difference between `store` (its orders and intake) and billing's `ledger`."""
    orders = store.by_state(*State)
    return list(_differences(store, orders, ledger.payments(), ledger.refunds()))


def _sum(amounts: Sequence[Money], currency: str) -> Money:
    return sum(amounts, Money.zero(currency))


def _differences(
    intake: PaymentIntake,
    orders: Sequence[WorkOrder],
    billed: Sequence[ReceivedPayment],
    refunds: Sequence[RefundReceipt],
) -> Iterator[Difference]:
    reported = {p.id: p for p in intake.payments()}
    in_billing = {p.reference: p for p in billed}
    holders: defaultdict[str, list[str]] = defaultdict(list)
    for order in orders:
        for accepted in order.ledger.payments:
            holders[accepted.id].append(order.id)

    for held in billed:
        report = reported.get(held.reference)
        if report is None:
            yield Difference(
                "payment_not_recorded",
                f"billing holds payment {held.reference!r} of {held.amount} "
                f"for order {held.order_id!r}; the store has no record of it",
            )
        elif (report.order_id, report.payment.amount) != (held.order_id, held.amount):
            yield Difference(
                "payment_facts_differ",
                f"payment {held.reference!r}: billing has {held.amount} for order "
                f"{held.order_id!r}, the store {report.payment.amount} for order "
                f"{report.order_id!r}",
            )
    for report in reported.values():
        if report.id not in in_billing:
            yield Difference(
                "payment_unknown_to_billing",
                f"the store recorded payment {report.id!r}; billing holds no such payment",
            )
        expected = [report.order_id] if report.applied else []
        if holders.get(report.id, []) != expected:
            yield Difference(
                "payment_misapplied",
                f"payment {report.id!r} is {'applied to' if report.applied else 'unapplied for'}"
                f" order {report.order_id!r}, but held by orders {holders.get(report.id, [])!r}",
            )

    times = Counter(r.payment_id for r in refunds)
    refunded: dict[str, RefundReceipt] = {}
    for refund in refunds:
        payment = in_billing.get(refund.payment_id)
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
        refunded.setdefault(refund.payment_id, refund)
    for payment_id, count in times.items():
        if count > 1:
            yield Difference(
                "refunded_twice", f"billing refunded payment {payment_id!r} {count} times"
            )

    for order in orders:
        currency = order.ledger.currency
        ids = [p.id for p in order.ledger.payments]
        billed_paid = _sum([in_billing[i].amount for i in ids if i in in_billing], currency)
        billed_refunded = _sum([refunded[i].amount for i in ids if i in refunded], currency)
        if order.ledger.paid != billed_paid:
            yield Difference(
                "paid_differs",
                f"order {order.id!r} has paid {order.ledger.paid}; billing holds {billed_paid}",
            )
        if order.ledger.refunded != billed_refunded:
            yield Difference(
                "refunded_differs",
                f"order {order.id!r} has refunded {order.ledger.refunded}; billing refunded "
                f"{billed_refunded}",
            )
    for report in reported.values():
        if report.applied:
            continue
        receipt = refunded.get(report.id)
        if (report.refund_reference is None) is not (receipt is None):
            yield Difference(
                "unapplied_refund_differs",
                f"unapplied payment {report.id!r}: the store has refund "
                f"{report.refund_reference!r}, billing "
                f"{None if receipt is None else receipt.reference!r}",
            )
