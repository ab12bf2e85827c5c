from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from komtet_works.domain.errors import BillingFailed
from komtet_works.domain.money import Money


@attrs.frozen
class Invoice:
    """A payment asked of a customer: the billing system's reference, for an order."""

    reference: str
    order_id: str
    amount: Money


@attrs.frozen
class RefundReceipt:
    """Money returned: the billing system's reference, for a payment."""

    reference: str
    payment_id: str
    amount: Money


@attrs.frozen
class ReceivedPayment:
    """Money a customer paid: the billing system's payment id, for an order."""

    reference: str
    order_id: str
    amount: Money


class Billing(Protocol):
    """The provider's Billing System (rule P5)."""

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        """Ask the customer to pay `amount` for an order; return the invoice reference.

        Asking twice with one `idempotency_key` gives one invoice.
        """
        ...

    def void_invoice(self, *, invoice: str, idempotency_key: str) -> None:
        """Cancel the invoice `invoice`: its quote can no longer be paid (rule K4).

        Voiding twice, or an invoice already void, changes nothing.  Money that still
        arrives for it is reported as usual, and the library refunds it (rule K2).
        Raises `BillingFailed` when the invoice could not be voided.
        """
        ...

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        """Return `amount` of payment `payment_id`; return the billing system's receipt.

        Asking twice with one `idempotency_key` refunds once and gives the same receipt.
        A payment may be refunded in parts, under distinct keys (the unused hours at
        completion, the rest on a claim: rule H2); the refunds of a payment never add up to
        more than it (rule I4): one that would is refused (`refund_exceeds_payment`).
        Raises `BillingFailed` when the money did not go out.
        """
        ...


class BillingLedger(Protocol):
    """What the billing system's books say: the other side of a reconciliation (rule K5)."""

    def payments(self) -> Sequence[ReceivedPayment]:
        """Every payment customers made, oldest first."""
        ...

    def refunds(self) -> Sequence[RefundReceipt]:
        """Every refund paid out, oldest first."""
        ...


def check_refund(payment: ReceivedPayment | None, earlier: Sequence[Money], amount: Money) -> None:
    """Refuse (`BillingFailed`) a refund of `amount` that would take the refunds of
    `payment` (the `earlier` ones under other keys) beyond it: a shipped ledger's check
    (rule I4).  A payment the ledger never received is not judged here: reconciliation
    names its refunds (`refund_without_payment`)."""
    if payment is None:
        return
    held = payment.amount
    if amount.currency != held.currency or any(m.currency != held.currency for m in earlier):
        raise BillingFailed(f"a refund of payment {payment.reference!r} must be in {held.currency}")
    total = sum(earlier, amount)
    if total > held:
        raise BillingFailed(
            f"refunds of {total} would exceed payment {payment.reference!r} of {held}"
        )
