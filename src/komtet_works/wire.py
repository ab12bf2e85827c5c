"""The JSON shapes komtet-works shows at its edges (CLI, scenario results).

Money and hours are decimal strings, never JSON numbers: a number would be read as a
float on the other side.
"""

from __future__ import annotations

from decimal import Decimal

from komtet_works.domain.pricing import Quote


def decimal_text(number: Decimal) -> str:
    """A decimal as plain text, never in exponent form."""
    return f"{number:f}"


def quote_json(quote: Quote) -> dict[str, str]:
    """The `quote` object of the scenario contract (shared/SCENARIOS.md), plus its extras."""
    shown = {
        "hours": decimal_text(quote.hours),
        "billable_hours": decimal_text(quote.billable_hours),
        "rate": decimal_text(quote.rate.amount),
        "gross": decimal_text(quote.gross.amount),
        "discount": decimal_text(quote.discount.amount),
        "total": decimal_text(quote.total.amount),
        "currency": quote.currency,
        "tariff_version": quote.tariff_version,
        "issued_at": quote.issued_at.isoformat(),
        "payable_until": quote.payable_until.isoformat(),
    }
    if quote.discount_reason is not None:
        shown["discount_reason"] = quote.discount_reason
    return shown
