"""Rule H2: the hours paid for but not spent, refunded at completion
(`SpentHours.REFUND_UNUSED`, decision D-OVERRUN).

"The amount of payment depends on the number of working hours spent. The minimum term
makes up 1 hour."  The paid quote is the most the customer pays; the hours spent, billed
as the quote bills hours, are what the works cost.
"""

from __future__ import annotations

from decimal import Decimal

from komtet_works.domain.money import Money
from komtet_works.domain.pricing import Quote, Tariff


def unused_hours_refund(quote: Quote, spent: Decimal, *, paid: Money, tariff: Tariff) -> Money:
    """What is refunded of `paid` for `quote` when `spent` hours were logged (rule H2).

    The paid total minus the price of the hours spent at the quote's own terms
    (`Quote.price_of`: the minimum term, the increment, the rate, the discount), one
    rounding per amount (M4).  Nothing when no hours were logged (the estimate stands:
    nothing measured the works) or when the hours spent, billed, reach the quote's
    billable hours (more is never charged: the provider's risk).  `tariff` stands in for
    a quote recorded without its own.
    """
    nothing = Money.zero(paid.currency)
    if spent <= 0 or quote.terms(tariff).billable_hours(spent) >= quote.billable_hours:
        return nothing
    refund = paid - quote.price_of(spent, tariff)
    return refund if refund.amount > 0 else nothing
