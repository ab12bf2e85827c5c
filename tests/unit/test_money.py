"""Money: exact decimals in a known currency, rounded in one place (rules M1-M4)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import CurrencyMismatch, ExactNumber, InvalidMoney, Money, UnknownCurrency
from strategies import amounts, currencies, invalid_amounts, moneys, too_precise_amounts

KOPECK = Decimal("0.01")


@pytest.mark.rule("M1")
@given(amount=amounts(), currency=currencies())
def test_money_of_keeps_the_exact_decimal_of_a_string_int_or_decimal(
    amount: Decimal, currency: str
) -> None:
    """A decimal string, the Decimal itself and (when whole) an int give the same money."""
    expected = Money(amount, currency)
    assert expected == Money.of(f"{amount:f}", currency)
    assert expected == Money.of(amount, currency)
    if amount == amount.to_integral_value():
        assert expected == Money.of(int(amount), currency)


@pytest.mark.rule("M1")
@given(amount=amounts())
def test_money_of_gives_amounts_at_kopeck_precision(amount: Decimal) -> None:
    """Money built from outside values always carries exactly two decimal places."""
    assert -2 == Money.of(amount.normalize()).amount.as_tuple().exponent


@pytest.mark.rule("M1", "M2")
@given(value=invalid_amounts())
def test_money_of_refuses_floats_nan_infinities_booleans_non_numbers_and_sub_kopecks(
    value: object,
) -> None:
    """Anything but a finite decimal at kopeck precision is refused as invalid input."""
    with pytest.raises(InvalidMoney) as refused:
        Money.of(value)  # type: ignore[arg-type]  # the run-time refusal, for unchecked callers
    assert "invalid_input" == refused.value.code
    assert "amount" == refused.value.field


@pytest.mark.rule("M1")
def test_money_of_names_the_field_it_refuses() -> None:
    """The refusal says which input was wrong, for the edge to report."""
    with pytest.raises(InvalidMoney) as refused:
        Money.of(0.1, field="payment")  # type: ignore[arg-type]  # the run-time refusal
    assert "payment" == refused.value.field


@pytest.mark.rule("M1")
@pytest.mark.parametrize("value", ["1e30", "-1e26", Decimal("9e99")])
def test_money_of_refuses_amounts_too_large_to_keep_to_the_kopeck(value: ExactNumber) -> None:
    """An amount whose kopecks the decimal context cannot hold is invalid input, not a crash."""
    with pytest.raises(InvalidMoney) as refused:
        Money.of(value)
    assert "invalid_input" == refused.value.code


@pytest.mark.rule("M1")
@pytest.mark.parametrize(
    "amount", [1, 0.5, "1.00", Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]
)
def test_the_constructor_refuses_anything_but_a_finite_decimal(amount: object) -> None:
    """`Money(...)` converts nothing: ints, floats, strings and non-finite Decimals are refused."""
    with pytest.raises(InvalidMoney) as refused:
        Money(amount, "RUB")  # type: ignore[arg-type]
    assert "invalid_input" == refused.value.code


@pytest.mark.rule("M2")
@given(amount=too_precise_amounts())
def test_the_constructor_refuses_more_precision_than_the_currency_has(
    amount: Decimal | str,
) -> None:
    """A sub-kopeck Decimal cannot become money, even through the constructor."""
    with pytest.raises(InvalidMoney):
        Money(Decimal(amount))


@pytest.mark.rule("M2")
@given(amount=amounts(), zeros=st.integers(1, 6))
def test_trailing_zeros_below_the_kopeck_are_not_extra_precision(
    amount: Decimal, zeros: int
) -> None:
    """ "1.000" is exactly 1.00: Money.of accepts it as the same amount."""
    assert Money(amount) == Money.of(f"{amount:f}" + "0" * zeros)


@pytest.mark.rule("M2")
@given(code=st.text(max_size=5).filter(lambda code: code not in {"RUB", "EUR", "USD"}))
def test_unknown_currencies_are_refused_everywhere_money_is_made(code: str) -> None:
    """Money.of, the constructor and Money.zero all refuse a currency the library lacks."""
    with pytest.raises(UnknownCurrency) as by_of:
        Money.of("1.00", code)
    with pytest.raises(UnknownCurrency) as by_constructor:
        Money(Decimal("1.00"), code)
    with pytest.raises(UnknownCurrency) as by_zero:
        Money.zero(code)
    for refused in (by_of, by_constructor, by_zero):
        assert "invalid_input" == refused.value.code
        assert "currency" == refused.value.field


@pytest.mark.rule("M3")
@given(a=moneys(currency="RUB"), b=moneys(currency="RUB"))
def test_arithmetic_in_one_currency_is_exact(a: Money, b: Money) -> None:
    """Sums and differences of money are exact: nothing is rounded or lost."""
    assert a == (a + b) - b
    assert Money(a.amount + b.amount) == a + b
    assert Money(a.amount - b.amount) == a - b


@pytest.mark.rule("M3")
@given(a=moneys(currency="RUB"), b=moneys(currency="RUB"))
def test_comparisons_in_one_currency_compare_the_amounts(a: Money, b: Money) -> None:
    """<, <=, > and >= agree with the amounts they hold."""
    assert (a.amount < b.amount) == (a < b)
    assert (a.amount <= b.amount) == (a <= b)
    assert (a.amount > b.amount) == (a > b)
    assert (a.amount >= b.amount) == (a >= b)


@pytest.mark.rule("M3")
@given(a=moneys(currency="RUB"), b=moneys(currency="EUR"))
def test_arithmetic_and_comparison_across_currencies_are_refused(a: Money, b: Money) -> None:
    """Rubles and euros never add, subtract or compare."""
    operations = (
        lambda: a + b,
        lambda: a - b,
        lambda: a < b,
        lambda: a <= b,
        lambda: a > b,
        lambda: a >= b,
    )
    for operation in operations:
        with pytest.raises(CurrencyMismatch) as refused:
            operation()
        assert "currency_mismatch" == refused.value.code


@pytest.mark.rule("M4")
@given(
    amount=st.decimals(
        min_value=-1_000_000, max_value=1_000_000, places=6, allow_nan=False, allow_infinity=False
    ),
    currency=currencies(),
)
def test_rounded_rounds_to_the_kopeck_half_up(amount: Decimal, currency: str) -> None:
    """Money.rounded is Decimal's half-up quantize to the minor unit, and nothing else."""
    assert Money(amount.quantize(KOPECK, rounding=ROUND_HALF_UP), currency) == Money.rounded(
        amount, currency
    )


@pytest.mark.rule("M4")
@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),
        ("0.0049999", "0.00"),
        ("-0.005", "-0.01"),
        ("1250.0125", "1250.01"),
        ("1250.025", "1250.03"),
    ],
)
def test_rounded_sends_half_a_kopeck_away_from_zero(amount: str, expected: str) -> None:
    """Half a kopeck rounds up in size, never to even (banker's rounding would give 0.02)."""
    assert Money.of(expected) == Money.rounded(Decimal(amount))


@pytest.mark.rule("M4")
@given(money=moneys())
def test_rounding_exact_money_changes_nothing(money: Money) -> None:
    """Money already at kopeck precision comes back from rounding as it was."""
    assert money == Money.rounded(money.amount, money.currency)


@pytest.mark.rule("M2")
@given(currency=currencies())
def test_zero_is_zero_at_the_currency_precision(currency: str) -> None:
    """Money.zero is 0.00 in the currency asked for."""
    zero = Money.zero(currency)
    assert Money(Decimal("0.00"), currency) == zero
    assert "0.00" == str(zero.amount)


@pytest.mark.rule("M1")
def test_money_reads_as_amount_and_currency() -> None:
    """str(Money) shows the exact amount and the currency code."""
    assert "1600.00 RUB" == str(Money.of("1600.00"))
