"""Exact money: a Decimal amount in a known currency, never a float.

Rounding to the currency's minor unit happens in exactly one place, `Money.rounded`,
half-up (the rounding Russian fiscal documents use; see decision D-MONEY-ROUNDING).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final, TypeAlias

import attrs

from komtet_works.domain.errors import CurrencyMismatch, InvalidMoney, UnknownCurrency

#: Currency code -> the quantum of its minor unit (kopecks, cents).
CURRENCIES: Final[dict[str, Decimal]] = {
    "RUB": Decimal("0.01"),
    "EUR": Decimal("0.01"),
    "USD": Decimal("0.01"),
}


#: An exact number as a caller gives it (an amount, hours, a tariff figure): decimal text,
#: an int or a Decimal.  Never a float: mypy refuses one in the caller's code, and
#: `parse_decimal` refuses one at run time from callers that mypy does not check.
ExactNumber: TypeAlias = str | int | Decimal

_new = object.__new__


def parse_decimal(value: object, *, field: str) -> Decimal:
    """Read a finite decimal from a Decimal, an int or a decimal string; refuse the rest.

    Floats are refused rather than converted: ``0.1`` has no exact decimal value, and a
    money library that guesses one has already lost a kopeck somewhere.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidMoney(
            f"{field} must be a decimal string, int or Decimal, not {type(value).__name__}",
            field=field,
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidMoney(f"{field} is not a number: {value!r}", field=field) from None
    if not number.is_finite():
        raise InvalidMoney(f"{field} must be finite, got {value!r}", field=field)
    return number


def check_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise UnknownCurrency(f"unknown currency {code!r}", field="currency")
    return code


@attrs.frozen(order=False)
class Money:
    """An exact amount with at most the currency's minor-unit precision.

    Build one with `Money.of` from outside values; the constructor checks types and
    precision but converts nothing.
    """

    amount: Decimal
    currency: str = "RUB"

    def __attrs_post_init__(self) -> None:
        if type(self.amount) is not Decimal or not self.amount.is_finite():
            raise InvalidMoney(f"amount must be a finite Decimal, not {self.amount!r}")
        quantum = CURRENCIES.get(self.currency)
        if quantum is None:
            raise UnknownCurrency(f"unknown currency {self.currency!r}", field="currency")
        if self.amount.as_tuple().exponent < quantum.as_tuple().exponent:  # type: ignore[operator]
            raise InvalidMoney(
                f"{self.amount} has more precision than {self.currency} allows ({quantum})"
            )

    @classmethod
    def of(cls, amount: ExactNumber, currency: str = "RUB", *, field: str = "amount") -> Money:
        """Exact money from a decimal string, int or Decimal: ``Money.of("1600.00")``."""
        quantum = CURRENCIES.get(currency)
        if quantum is None:
            raise UnknownCurrency(f"unknown currency {currency!r}", field="currency")
        number = parse_decimal(amount, field=field)
        try:
            exact = number.quantize(quantum)
        except InvalidOperation:  # more digits than the decimal context keeps
            raise InvalidMoney(f"{field} {amount!r} is too large", field=field) from None
        if exact != number:
            raise InvalidMoney(
                f"{field} {amount!r} has more precision than {currency} allows ({quantum})",
                field=field,
            )
        return cls(exact, currency)

    @classmethod
    def rounded(cls, amount: Decimal, currency: str = "RUB") -> Money:
        """The one rounding rule: to the minor unit, half-up."""
        money = _new(Money)  # `_exact`, inlined: a quote computes two of its amounts here
        # the rounding given by position: Decimal.quantize parses a keyword at twice the cost
        _set_amount(money, amount.quantize(CURRENCIES[currency], ROUND_HALF_UP))
        _set_currency(money, currency)
        return money

    @classmethod
    def zero(cls, currency: str = "RUB") -> Money:
        return _exact(Decimal(0).quantize(CURRENCIES[check_currency(currency)]), currency)

    def _mismatch(self, other: Money) -> CurrencyMismatch:
        """The refusal to combine this money with `other`'s currency.  (Each operation
        tests the currencies itself: a call to test them costs a quote 1% of its time.)"""
        return CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return _exact(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return _exact(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if other.currency != self.currency:
            raise self._mismatch(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


# The setters of Money's slots: a frozen class refuses assignment, and object.__setattr__
# would look each slot up by its name first; its own setter goes straight to it.
_set_amount = Money.__dict__["amount"].__set__
_set_currency = Money.__dict__["currency"].__set__


def _exact(amount: Decimal, currency: str) -> Money:
    """Money from an amount the caller has already made exact: skips the checks.

    Arithmetic on exact money is exact; on the pricing hot path the checks in
    ``__attrs_post_init__`` would cost more than the arithmetic itself.
    """
    money = _new(Money)
    _set_amount(money, amount)
    _set_currency(money, currency)
    return money
