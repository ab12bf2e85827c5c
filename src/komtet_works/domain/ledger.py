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

    def refunds_due(self) -> tuple[Refund, ...]:
        """What refunding everything means: each payment not yet refunded, in full.

        The `reference` is left empty: the billing system gives it when it pays out.
        """
        done = {r.payment_id for r in self.refunds}
        return tuple(Refund(p.id, p.amount, "") for p in self.payments if p.id not in done)

    def check_refunds(self, refunds: tuple[Refund, ...]) -> None:
        """Refunds never exceed a payment and refund each payment at most once."""
        payments = {p.id: p for p in self.payments}
        seen = {r.payment_id for r in self.refunds}
        for refund in refunds:
            payment = payments.get(refund.payment_id)
            if payment is None:
                raise InvalidRefund(f"no payment {refund.payment_id!r} to refund")
            if refund.payment_id in seen:
                raise InvalidRefund(f"payment {refund.payment_id!r} is already refunded")
            if (
                refund.amount.currency != payment.amount.currency
                or refund.amount > payment.amount
                or refund.amount.amount <= 0
            ):
                raise InvalidRefund(
                    f"refund of {refund.amount} does not fit payment of {payment.amount}"
                )
            seen.add(refund.payment_id)
