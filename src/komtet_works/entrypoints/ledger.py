"""The shipped billing ledgers as the billing system a scenario or an operator stands for.

A pay step means a customer paid in billing, and billing reports it: the ledger records the
payment first (`receive`), so reconciliation (rule K5) has both books to compare.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from komtet_works.domain.errors import InvalidInput, UnknownOrder
from komtet_works.domain.money import Money
from komtet_works.ports.billing import Billing, BillingLedger, ReceivedPayment
from komtet_works.ports.work_orders import WorkOrders


class ReceivingLedger(Billing, BillingLedger, Protocol):
    """A billing ledger that customers can pay into: `InMemoryBilling`, the SQL billings."""

    def receive(self, *, payment_id: str, order_id: str, amount: Money) -> ReceivedPayment: ...


def paid_in_billing(
    ledger: ReceivingLedger,
    orders: WorkOrders,
    *,
    order_id: str,
    payment_id: str,
    amount: object,
    currency: str | None,
) -> None:
    """Record in `ledger` the money a pay step reports, before it is reported.

    A report that is no money (not an amount, zero or less) or repeats a payment id the
    ledger holds stands for no payment at all: the ledger holds nothing more for it.
    """
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        return  # a float, say: no amount billing could hold
    if any(p.reference == payment_id for p in ledger.payments()):
        return
    if currency is None:
        try:
            currency = orders.get(order_id).ledger.currency
        except UnknownOrder:
            currency = Money.zero().currency
    try:
        money = Money.of(amount, currency)
    except InvalidInput:
        return
    if money.amount > 0:
        ledger.receive(payment_id=payment_id, order_id=order_id, amount=money)
