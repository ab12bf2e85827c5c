"""The payments intake: every payment the billing system reports, kept once by its id.

Money the billing system reports is never dropped (rule K2).  A report is either applied
to its order (the order's ledger holds the payment), or refused by the rules for that
order and kept *unapplied* with the refusal's code, to be refunded in full (decision
D-UNAPPLIED).  A payment id belongs to one order for ever: the same id reported for
another order, or with another amount, is a *conflicting report*, kept for staff, and
changes nothing.
"""

from __future__ import annotations

import attrs

from komtet_works.domain.ledger import Payment


@attrs.frozen
class ReportedPayment:
    """A payment as first reported: the billing system's id, its order, amount and time."""

    payment: Payment
    order_id: str
    #: None when the payment was applied to the order; else the code of the refusal
    refused: str | None = None
    #: the billing system's receipt, once an unapplied payment is refunded
    refund_reference: str | None = None

    @property
    def id(self) -> str:
        return self.payment.id

    @property
    def applied(self) -> bool:
        return self.refused is None

    def repeats(self, payment: Payment, order_id: str) -> bool:
        """Whether `payment` for `order_id` is this report again (a retried callback)."""
        return order_id == self.order_id and payment.amount == self.payment.amount


@attrs.frozen
class ConflictingReport:
    """A report of a known payment id that does not repeat it: another order or amount."""

    payment: Payment
    order_id: str
    #: `payment_belongs_to_another_order` or `payment_conflict`
    code: str
