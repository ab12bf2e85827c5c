"""The in-memory billing system keeps the promise the Billing port makes: once per key."""

from __future__ import annotations

import pytest

from komtet_works import BillingFailed, Money
from komtet_works.adapters import InMemoryBilling


@pytest.mark.rule("I4")
def test_a_refund_asked_twice_with_one_key_refunds_once() -> None:
    """The same key and the same refund give the same receipt and one refund."""
    billing = InMemoryBilling()
    amount = Money.of("1400.00")
    first = billing.refund(payment_id="p-1", amount=amount, idempotency_key="o-1:refund:p-1")
    again = billing.refund(payment_id="p-1", amount=amount, idempotency_key="o-1:refund:p-1")
    assert (first, 1) == (again, len(billing.refunded))


@pytest.mark.rule("I4")
@pytest.mark.parametrize(
    ("payment_id", "amount"), [("p-2", "1400.00"), ("p-1", "1000.00")], ids=["payment", "amount"]
)
def test_one_key_for_another_refund_is_refused(payment_id: str, amount: str) -> None:
    """Reusing a key for another payment or amount is a caller's mistake: `billing_failed`."""
    billing = InMemoryBilling()
    billing.refund(payment_id="p-1", amount=Money.of("1400.00"), idempotency_key="k")
    with pytest.raises(BillingFailed):
        billing.refund(payment_id=payment_id, amount=Money.of(amount), idempotency_key="k")
    assert 1 == len(billing.refunded)


@pytest.mark.rule("P5")
def test_one_key_for_another_invoice_is_refused() -> None:
    """An invoice key names one order and amount; asked again the same, the same invoice."""
    billing = InMemoryBilling()
    first = billing.request_payment(order_id="o-1", amount=Money.of("1600.00"), idempotency_key="i")
    assert first == billing.request_payment(
        order_id="o-1", amount=Money.of("1600.00"), idempotency_key="i"
    )
    with pytest.raises(BillingFailed):
        billing.request_payment(order_id="o-2", amount=Money.of("1600.00"), idempotency_key="i")
