"""The money side of an order: its quotes, the payments received and the refunds made."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pendulum

from komtet_works.domain.errors import InvalidInput, InvalidRefund, PaymentConflict
from komtet_works.domain.instants import require_aware
from komtet_works.domain.money import Money
from komtet_works.domain.pricing import Quote, canonical


def _received_at(value: object) -> pendulum.DateTime:
    return require_aware(value, field="received_at")


def _payment_id(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a payment id must be non-empty text", field=attribute.name)


@attrs.frozen
class Payment:
    """A payment the billing system reports; `id` is the billing system's, unique across
    every order (rule K2)."""

    id: str = attrs.field(validator=_payment_id)
    amount: Money
    received_at: pendulum.DateTime = attrs.field(converter=_received_at)


@attrs.frozen
class Refund:
    """Money returned for one payment; `reference` is the billing system's receipt."""

    payment_id: str
    amount: Money
    reference: str


@attrs.frozen
class Ledger:
    """Quotes (all of them stay on record), payments and refunds of one order."""

    quotes: tuple[Quote, ...] = ()
    current_quote: Quote | None = None
    payments: tuple[Payment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    #: the quote each accepted payment paid, in order: their billable hours are the hours
    #: paid for (rule H3)
    paid_quotes: tuple[Quote, ...] = ()
    #: the supplementary quote of works in progress open for payment (rule H4), if any
    supplementary_quote: Quote | None = None

    @property
    def paid_hours(self) -> Decimal:
        """The billable hours of the quotes paid: derived, so it cannot drift from them."""
        return canonical(sum((quote.billable_hours for quote in self.paid_quotes), Decimal(0)))

    @property
    def currency(self) -> str:
        quote = self.quotes[-1] if self.quotes else None
        return quote.currency if quote else "RUB"

    @property
    def paid(self) -> Money:
        """The sum of accepted payments: derived, so it cannot drift from them."""
        return sum((p.amount for p in self.payments), Money.zero(self.currency))

    @property
    def refunded(self) -> Money:
        return sum((r.amount for r in self.refunds), Money.zero(self.currency))

    def known_payment(self, payment: Payment) -> bool:
        """True when `payment` was already accepted (a retried callback); conflicts refused."""
        for accepted in self.payments:
            if accepted.id == payment.id:
                if accepted.amount != payment.amount:
                    raise PaymentConflict(
                        f"payment {payment.id!r} was reported before as {accepted.amount}, "
                        f"now as {payment.amount}"
                    )
                return True
        return False

    def refunded_of(self, payment_id: str) -> Money:
        """What has been refunded of payment `payment_id`, in all its refunds."""
        return sum(
            (r.amount for r in self.refunds if r.payment_id == payment_id),
            Money.zero(self.currency),
        )

    def refunds_due(self) -> tuple[Refund, ...]:
        """What refunding everything means: what is left of each payment, in full.

        A payment refunded in part before (unused hours, rule H2) has only the rest left
        to refund (rule I4).  The `reference` is left empty: the billing system gives it
        when it pays out.
        """
        due = ((p, p.amount - self.refunded_of(p.id)) for p in self.payments)
        return tuple(Refund(p.id, left, "") for p, left in due if left.amount > 0)

    def refunds_of(self, amount: Money) -> tuple[Refund, ...]:
        """`amount` refunded from the payments, the latest first, each at most what is left
        of it (rule H2); the references are left empty."""
        refunds: list[Refund] = []
        for due in reversed(self.refunds_due()):
            if amount.amount <= 0:
                break
            part = min(due.amount, amount, key=lambda money: money.amount)
            refunds.append(Refund(due.payment_id, part, ""))
            amount -= part
        if amount.amount > 0:
            raise InvalidRefund(f"{amount} more than is left of the payments cannot be refunded")
        return tuple(refunds)

    def check_refunds(self, refunds: tuple[Refund, ...]) -> None:
        """Each refund is of a payment, above zero, in its currency, and a payment's refunds
        never add up to more than the payment (rule I4)."""
        payments = {p.id: p for p in self.payments}
        left = {p.id: p.amount - self.refunded_of(p.id) for p in self.payments}
        for refund in refunds:
            payment = payments.get(refund.payment_id)
            if payment is None:
                raise InvalidRefund(f"no payment {refund.payment_id!r} to refund")
            if left[refund.payment_id].amount <= 0:
                raise InvalidRefund(f"payment {refund.payment_id!r} is already refunded")
            if (
                refund.amount.currency != payment.amount.currency
                or refund.amount > left[refund.payment_id]
                or refund.amount.amount <= 0
            ):
                raise InvalidRefund(
                    f"refund of {refund.amount} does not fit payment of {payment.amount} "
                    f"with {left[refund.payment_id]} left"
                )
            left[refund.payment_id] -= refund.amount
