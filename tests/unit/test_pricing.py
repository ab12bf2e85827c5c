"""Pricing: tariffs, billable hours and quotes (rules P1-P4, P6-P8, D-INCREMENT,
D-MONEY-ROUNDING, D-QUOTE-VALIDITY)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

import attrs
import pendulum
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from komtet_works import (
    HoursRounding,
    InvalidHours,
    InvalidInput,
    Money,
    Quote,
    Tariff,
    parse_hours,
    price,
)
from komtet_works.domain.pricing import MAX_ESTIMATE_HOURS, canonical
from strategies import (
    elapsed,
    hours,
    hours_inputs,
    instants,
    invalid_hours_inputs,
    spellings,
    tariffs,
)

AT = pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow")
WEEK = timedelta(days=7)
SEED = Tariff()
#: The quarter-hour increment a host may set (D-INCREMENT).
QUARTER = Decimal("0.25")


def quote(tariff: Tariff, hours: Decimal | str, *, maintained_site: bool = False) -> Quote:
    return price(
        tariff,
        parse_hours(hours),
        maintained_site=maintained_site,
        issued_at=AT,
        valid_for=WEEK,
    )


# --- P1, P2, P3, D-INCREMENT: from estimated hours to billable hours --------------------


@pytest.mark.rule("P1")
def test_one_hour_costs_a_thousand_rubles() -> None:
    """The seed tariff bills one hour at 1000.00 RUB."""
    one_hour = quote(SEED, "1")
    assert Money.of("1000.00", "RUB") == one_hour.rate
    assert Money.of("1000.00", "RUB") == one_hour.total
    assert "RUB" == one_hour.currency


@pytest.mark.rule("D-INCREMENT", "P2")
def test_the_seed_tariff_bills_the_estimate_as_given_above_one_hour() -> None:
    """The defaults: minimum 1 h, no increment, rounding up (for hosts that set one), 20%."""
    assert Decimal(1) == SEED.minimum_hours
    assert SEED.billing_increment is None
    assert HoursRounding.UP is SEED.hours_rounding
    assert Decimal("0.20") == SEED.maintenance_discount
    assert "seed" == SEED.version


@pytest.mark.rule("P2", "P3", "D-INCREMENT")
@pytest.mark.parametrize(
    ("estimated", "billable"),
    [
        ("0.000001", "1"),
        ("0.5", "1"),
        ("1", "1"),
        ("1.01", "1.01"),
        ("1.25", "1.25"),
        ("1.6", "1.6"),
        ("2", "2"),
        ("2.999999", "2.999999"),
    ],
)
def test_seed_billable_hours(estimated: str, billable: str) -> None:
    """Below the minimum an hour is billed; above it, the hours staff estimated."""
    assert Decimal(billable) == quote(SEED, estimated).billable_hours


@pytest.mark.rule("P3", "D-INCREMENT", "P6")
@given(estimated=hours(), minimum=st.sampled_from(["0.5", "1", "1.1", "2"]))
def test_without_an_increment_the_estimate_is_billed_as_given(
    estimated: Decimal, minimum: str
) -> None:
    """With no increment, billable hours are exactly the larger of estimate and minimum."""
    tariff = Tariff(minimum_hours=Decimal(minimum))
    hours_in = parse_hours(estimated)
    billable = tariff.billable_hours(hours_in)
    assert canonical(max(Decimal(minimum), hours_in)) == billable
    assert Money.rounded(billable * Decimal("1000.00"), "RUB") == quote(tariff, billable).gross


@pytest.mark.rule("P3")
@pytest.mark.parametrize(
    ("rounding", "estimated", "billable"),
    [
        (HoursRounding.UP, "1.1", "1.25"),
        (HoursRounding.NEAREST, "1.1", "1"),
        (HoursRounding.NEAREST, "1.125", "1.25"),
        (HoursRounding.NEAREST, "1.124999", "1"),
        (HoursRounding.DOWN, "1.1", "1"),
        (HoursRounding.DOWN, "1.249999", "1"),
        (HoursRounding.DOWN, "0.3", "1"),
    ],
)
def test_each_rounding_mode_rounds_hours_to_the_increment(
    rounding: HoursRounding, estimated: str, billable: str
) -> None:
    """Up, nearest (a half increment goes up) and down, never below the minimum."""
    tariff = Tariff(billing_increment=QUARTER, hours_rounding=rounding)
    assert Decimal(billable) == quote(tariff, estimated).billable_hours


@pytest.mark.rule("P2")
@given(tariff=tariffs(), estimated=hours())
def test_billable_hours_are_never_below_the_minimum(tariff: Tariff, estimated: Decimal) -> None:
    """Whatever the estimate and the rounding mode, at least the minimum term is billed."""
    assert tariff.billable_hours(parse_hours(estimated)) >= tariff.minimum_hours


@pytest.mark.rule("P3", "D-INCREMENT")
@given(tariff=tariffs(), estimated=hours())
def test_billable_hours_are_a_whole_number_of_increments_in_every_mode(
    tariff: Tariff, estimated: Decimal
) -> None:
    """Billable hours are always k x increment, for up, nearest and down alike."""
    billable = tariff.billable_hours(parse_hours(estimated))
    assert tariff.billing_increment is not None
    assert Decimal(0) == billable % tariff.billing_increment


@pytest.mark.rule("P3")
@given(tariff=tariffs(), estimated=hours())
def test_billable_hours_are_within_one_increment_of_the_counted_hours(
    tariff: Tariff, estimated: Decimal
) -> None:
    """Up never bills less, down never more, nearest at most half an increment off."""
    counted = max(tariff.minimum_hours, estimated)
    billable = tariff.billable_hours(parse_hours(estimated))
    step = tariff.billing_increment
    assert step is not None
    if tariff.hours_rounding is HoursRounding.UP:
        assert counted <= billable < counted + step
    elif tariff.hours_rounding is HoursRounding.DOWN:
        assert counted - step < billable <= counted
    else:
        assert abs(billable - counted) <= step / 2


@pytest.mark.rule("P3")
@given(tariff=tariffs(), estimated=hours())
def test_billable_hours_are_canonical(tariff: Tariff, estimated: Decimal) -> None:
    """Billable hours are shown in their shortest exact form, never "2.00" or "1E+1"."""
    billable = tariff.billable_hours(parse_hours(estimated))
    assert canonical(billable) == billable
    assert str(canonical(billable)) == str(billable)
    assert "E" not in str(billable)


# --- P6, D-MONEY-ROUNDING: from billable hours to money -----------------------------------


@pytest.mark.rule("P6", "D-MONEY-ROUNDING")
@given(tariff=tariffs(), estimated=hours(), maintained_site=st.booleans())
def test_the_breakdown_follows_the_order_of_operations(
    tariff: Tariff, estimated: Decimal, maintained_site: bool
) -> None:
    """Gross, then discount, each rounded half-up; the total is gross - discount exactly."""
    offer = quote(tariff, estimated, maintained_site=maintained_site)
    rate = tariff.hourly_rate
    share = tariff.maintenance_discount if maintained_site else Decimal(0)
    gross = (offer.billable_hours * rate.amount).quantize(Decimal("0.01"), ROUND_HALF_UP)
    discount = (gross * share).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert tariff.billable_hours(offer.hours) == offer.billable_hours
    assert Money(gross, rate.currency) == offer.gross
    assert Money(discount, rate.currency) == offer.discount
    assert offer.gross - offer.discount == offer.total
    assert rate == offer.rate
    assert rate.currency == offer.currency


@pytest.mark.rule("P4", "P6", "D-MONEY-ROUNDING")
@given(estimated=hours())
def test_the_maintenance_discount_is_twenty_percent_of_gross_to_the_kopeck(
    estimated: Decimal,
) -> None:
    """On a maintained site the seed discount is 20% of gross, half-up to the kopeck."""
    offer = quote(SEED, estimated, maintained_site=True)
    twenty_percent = (offer.gross.amount * Decimal("0.2")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Money(twenty_percent) == offer.discount
    assert offer.gross - offer.discount == offer.total
    assert "site_maintenance" == offer.discount_reason


@pytest.mark.rule("P6")
def test_the_total_is_gross_minus_the_rounded_discount_not_a_rounded_net() -> None:
    """0.03 gross, 50% off: the discount rounds to 0.02, so the total is 0.01 (not 0.02)."""
    tariff = Tariff(hourly_rate=Money.of("0.03"), maintenance_discount=Decimal("0.5"))
    offer = quote(tariff, "1", maintained_site=True)
    assert Money.of("0.03") == offer.gross
    assert Money.of("0.02") == offer.discount
    assert Money.of("0.01") == offer.total


@pytest.mark.rule("D-MONEY-ROUNDING")
def test_gross_is_rounded_half_up_not_to_even() -> None:
    """1.25 h at 1000.02 is 1250.025: billed as 1250.03, where banker's rounding gives .02."""
    offer = quote(Tariff(hourly_rate=Money.of("1000.02")), "1.25")
    assert Money.of("1250.03") == offer.gross


@pytest.mark.rule("D-MONEY-ROUNDING")
def test_the_discount_is_rounded_half_up_not_to_even() -> None:
    """25% of 1000.10 is 250.025: discounted as 250.03, where banker's rounding gives .02."""
    tariff = Tariff(hourly_rate=Money.of("1000.10"), maintenance_discount=Decimal("0.25"))
    offer = quote(tariff, "1", maintained_site=True)
    assert Money.of("250.03") == offer.discount
    assert Money.of("750.07") == offer.total


@pytest.mark.rule("P3", "P6")
@given(
    tariff=tariffs(),
    pair=st.tuples(hours(), hours()).map(sorted),
    maintained_site=st.booleans(),
)
def test_the_total_never_decreases_when_the_hours_grow(
    tariff: Tariff, pair: list[Decimal], maintained_site: bool
) -> None:
    """More estimated hours never cost less, in any rounding mode, with or without discount."""
    fewer, more = pair
    assert (
        quote(tariff, fewer, maintained_site=maintained_site).total
        <= quote(tariff, more, maintained_site=maintained_site).total
    )


@pytest.mark.rule("P6")
@given(tariff=tariffs(), estimated=hours(), maintained_site=st.booleans())
def test_a_quote_is_never_free_nor_more_than_gross(
    tariff: Tariff, estimated: Decimal, maintained_site: bool
) -> None:
    """0 < total <= gross: a discount is a share below one of a positive gross."""
    offer = quote(tariff, estimated, maintained_site=maintained_site)
    assert Money.zero(offer.currency) <= offer.discount
    assert offer.total <= offer.gross
    assert Money.zero(offer.currency) <= offer.total


# --- P4: which orders get the discount --------------------------------------------------


@pytest.mark.rule("P4")
def test_without_a_maintained_site_there_is_no_discount() -> None:
    """A server, or a site without Site Maintenance, pays gross: zero discount, no reason."""
    offer = quote(SEED, "2", maintained_site=False)
    assert Money.of("2000.00") == offer.gross
    assert Money.zero() == offer.discount
    assert offer.discount_reason is None
    assert offer.gross == offer.total


@pytest.mark.rule("P4")
def test_a_tariff_without_a_maintenance_discount_gives_none_on_a_maintained_site() -> None:
    """A host may set the share to zero: then no discount and no discount reason at all."""
    offer = quote(Tariff(maintenance_discount=Decimal(0)), "2", maintained_site=True)
    assert Money.zero() == offer.discount
    assert offer.discount_reason is None
    assert Money.of("2000.00") == offer.total


@pytest.mark.rule("P4", "P1")
def test_two_hours_on_a_maintained_site_cost_1600() -> None:
    """The seed's worked example: 2 h x 1000 = 2000, less 20% = 1600.00 RUB."""
    offer = quote(SEED, "2", maintained_site=True)
    assert Money.of("2000.00") == offer.gross
    assert Money.of("400.00") == offer.discount
    assert Money.of("1600.00") == offer.total


# --- P7: a quote carries its whole breakdown; equal hours give equal quotes --------------


@pytest.mark.rule("P7")
@given(estimated=hours(), data=st.data(), maintained_site=st.booleans())
def test_equal_decimals_give_the_same_quote(
    estimated: Decimal, data: st.DataObject, maintained_site: bool
) -> None:
    """ "2", "2.00", " 2.0 ", 2 and Decimal("2.000") all give one quote, shown the same way."""
    written = data.draw(spellings(estimated))
    expected = quote(SEED, f"{estimated:f}", maintained_site=maintained_site)
    actual = price(
        SEED,
        parse_hours(written),
        maintained_site=maintained_site,
        issued_at=AT,
        valid_for=WEEK,
    )
    assert expected == actual
    assert str(expected.hours) == str(actual.hours)
    assert str(expected.billable_hours) == str(actual.billable_hours)
    assert str(expected.total.amount) == str(actual.total.amount)


@pytest.mark.rule("P7")
def test_a_quote_carries_its_whole_breakdown() -> None:
    """Hours, billable hours, rate, gross, discount, total, tariff and validity are on it."""
    tariff = Tariff(version="2026-03", billing_increment=QUARTER)
    offer = quote(tariff, "1.1", maintained_site=True)
    assert Decimal("1.1") == offer.hours
    assert Decimal("1.25") == offer.billable_hours
    assert Money.of("1000.00") == offer.rate
    assert Money.of("1250.00") == offer.gross
    assert Money.of("250.00") == offer.discount
    assert Money.of("1000.00") == offer.total
    assert "2026-03" == offer.tariff_version
    assert AT == offer.issued_at
    assert AT.add(days=7) == offer.payable_until


# --- D-QUOTE-VALIDITY -------------------------------------------------------------------


@pytest.mark.rule("D-QUOTE-VALIDITY")
@given(
    issued_at=instants(),
    valid_for=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)),
)
def test_a_quote_is_payable_for_exactly_its_validity_of_elapsed_time(
    issued_at: pendulum.DateTime, valid_for: timedelta
) -> None:
    """payable_until is issued_at + validity in elapsed time (DST cannot bend it), inclusive."""
    offer = price(SEED, Decimal(2), maintained_site=False, issued_at=issued_at, valid_for=valid_for)
    assert valid_for == elapsed(issued_at, offer.payable_until)
    assert offer.is_payable_at(offer.payable_until)
    assert not offer.is_payable_at(offer.payable_until + timedelta(microseconds=1))


# --- P8: estimated hours are finite decimals above zero ---------------------------------


@pytest.mark.rule("P8")
@given(written=hours_inputs())
def test_valid_hours_are_read_exactly_and_canonically(written: Decimal | int | str) -> None:
    """Any spelling of a valid estimate reads as the same Decimal in its shortest form."""
    hours_read = parse_hours(written)
    assert Decimal(str(written).strip()) == hours_read
    assert canonical(hours_read) == hours_read
    assert "E" not in str(hours_read)


@pytest.mark.rule("P8")
@pytest.mark.parametrize("written", ["0.000001", "10000", "10000.000000", Decimal("1E+4")])
def test_the_smallest_and_largest_plausible_estimates_are_accepted(written: object) -> None:
    """One millionth of an hour and 10000 hours are both estimates."""
    assert Decimal(str(written)) == parse_hours(written)


@pytest.mark.rule("P8")
@given(value=invalid_hours_inputs())
def test_invalid_hours_are_refused_as_invalid_input(value: object) -> None:
    """Floats, NaN, infinities, booleans, text, zero, negatives and > 10000 h are refused."""
    with pytest.raises(InvalidHours) as refused:
        parse_hours(value)
    assert "invalid_input" == refused.value.code


@pytest.mark.rule("P8")
@pytest.mark.parametrize(
    "value", [2.0, float("nan"), float("inf"), "abc", True, 0, "-1", "1.0000001", "10000.000001"]
)
def test_the_refusal_names_the_hours_field(value: object) -> None:
    """Whatever is wrong with the hours, the refusal is about the `hours` field."""
    with pytest.raises(InvalidHours) as refused:
        parse_hours(value)
    assert "invalid_input" == refused.value.code
    assert "hours" == refused.value.field


@pytest.mark.rule("P8")
def test_the_hours_field_name_can_be_given() -> None:
    """An edge reading hours under another name has the refusal say that name."""
    with pytest.raises(InvalidHours) as refused:
        parse_hours("abc", field="queue")
    assert "queue" == refused.value.field


@pytest.mark.rule("P8")
def test_more_than_the_plausible_maximum_is_refused() -> None:
    """Just above 10000 hours is not a plausible estimate."""
    with pytest.raises(InvalidHours):
        parse_hours(MAX_ESTIMATE_HOURS + Decimal("0.000001"))


@pytest.mark.rule("P8")
@pytest.mark.parametrize("value", ["1.0000001", "1e-7", "1.00000000000000000000000000001"])
def test_more_than_six_decimal_places_are_refused(value: str) -> None:
    """Hours are estimated to at most six places; more is refused, never rounded away."""
    with pytest.raises(InvalidHours):
        parse_hours(value)


@pytest.mark.rule("P7", "P8")
@pytest.mark.parametrize(
    ("number", "shown"),
    [("2.00", "2"), ("0.50", "0.5"), ("1E+2", "100"), ("10.0", "10"), ("1.250", "1.25")],
)
def test_canonical_is_the_shortest_exact_form(number: str, shown: str) -> None:
    """Trailing zeros go and exponents are written out: 2.00 -> 2, 1E+2 -> 100."""
    assert shown == str(canonical(Decimal(number)))


# --- tariffs ----------------------------------------------------------------------------


@pytest.mark.rule("P1", "P2", "P3")
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hourly_rate": Money.of("0")}, "hourly_rate"),
        ({"hourly_rate": Money.of("-1000.00")}, "hourly_rate"),
        ({"minimum_hours": Decimal(0)}, "minimum_hours"),
        ({"minimum_hours": Decimal(-1)}, "minimum_hours"),
        ({"minimum_hours": Decimal("NaN")}, "minimum_hours"),
        ({"minimum_hours": Decimal("Infinity")}, "minimum_hours"),
        ({"billing_increment": Decimal(0)}, "billing_increment"),
        ({"billing_increment": Decimal("NaN")}, "billing_increment"),
        ({"billing_increment": Decimal("-Infinity")}, "billing_increment"),
        ({"minimum_hours": Decimal("1.1"), "billing_increment": QUARTER}, "minimum_hours"),
        ({"billing_increment": Decimal("0.3")}, "minimum_hours"),
        ({"maintenance_discount": Decimal(1)}, "maintenance_discount"),
        ({"maintenance_discount": Decimal("-0.01")}, "maintenance_discount"),
        ({"maintenance_discount": Decimal("NaN")}, "maintenance_discount"),
        ({"maintenance_discount": Decimal("Infinity")}, "maintenance_discount"),
    ],
)
def test_a_tariff_that_cannot_price_anything_is_refused(
    fields: dict[str, object], field: str
) -> None:
    """Non-positive or non-finite terms, a ragged minimum, a share outside [0, 1): invalid."""
    with pytest.raises(InvalidInput) as refused:
        Tariff(**fields)  # type: ignore[arg-type]
    assert "invalid_input" == refused.value.code
    assert field == refused.value.field


@pytest.mark.rule("P3")
def test_a_tariff_keeps_its_hours_canonical() -> None:
    """Minimum and increment given as 1.00 and 0.250 are kept as 1 and 0.25."""
    tariff = Tariff(minimum_hours=Decimal("1.00"), billing_increment=Decimal("0.250"))
    assert "1" == str(tariff.minimum_hours)
    assert "0.25" == str(tariff.billing_increment)


@pytest.mark.rule("P4")
@given(tariff=tariffs())
def test_no_discount_is_zero_in_the_tariff_currency(tariff: Tariff) -> None:
    """A quote without discount shows 0.00 in the tariff's currency."""
    assert Money.zero(tariff.hourly_rate.currency) == tariff.no_discount


# --- P6, D-MONEY-ROUNDING, D-QUOTE-VALIDITY: a quote is the rules' arithmetic, bit for bit --

_ROUNDINGS = {
    HoursRounding.UP: ROUND_UP,
    HoursRounding.NEAREST: ROUND_HALF_UP,
    HoursRounding.DOWN: ROUND_DOWN,
}
_KOPECK = Decimal("0.01")


def reference_breakdown(
    tariff: Tariff, hours: Decimal, *, maintained_site: bool
) -> tuple[Decimal, Decimal, Decimal, Decimal, str | None]:
    """Billable hours, gross, discount, total and the discount's reason, in the order rule
    P6 gives, with nothing but Decimal: what `price` computes, written out plainly."""
    counted = max(tariff.minimum_hours, hours)
    increment = tariff.billing_increment
    billable = counted
    if increment is not None and counted % increment != 0:
        whole = (counted / increment).quantize(
            Decimal(1), rounding=_ROUNDINGS[tariff.hours_rounding]
        )
        billable = canonical(whole * increment)
    gross = (billable * tariff.hourly_rate.amount).quantize(_KOPECK, rounding=ROUND_HALF_UP)
    if maintained_site and tariff.maintenance_discount != 0:
        discount = (gross * tariff.maintenance_discount).quantize(_KOPECK, rounding=ROUND_HALF_UP)
        return billable, gross, discount, gross - discount, "site_maintenance"
    return billable, gross, Decimal("0.00"), gross, None


def digits(number: Decimal) -> tuple[int, tuple[int, ...], int | str]:
    """A decimal's sign, digits and exponent: equal only if the two are the same decimal
    (``Decimal("2.0") == Decimal("2.00")``, but their digits differ)."""
    return number.as_tuple()


@pytest.mark.rule("P6", "D-MONEY-ROUNDING", "D-QUOTE-VALIDITY")
@given(
    tariff=st.one_of(tariffs(), tariffs().map(lambda t: attrs.evolve(t, billing_increment=None))),
    estimated=hours(),
    maintained_site=st.booleans(),
    issued_at=instants(),
    valid_for=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)),
)
# the minimum written otherwise: the minimum's own digits are billed
@example(tariff=SEED, estimated=Decimal("1.00"), maintained_site=True, issued_at=AT, valid_for=WEEK)
def test_a_quote_is_the_reference_arithmetic_bit_for_bit(
    tariff: Tariff,
    estimated: Decimal,
    maintained_site: bool,
    issued_at: pendulum.DateTime,
    valid_for: timedelta,
) -> None:
    """Every figure of a quote is the very decimal of the reference arithmetic (its digits
    and exponent too), in the tariff's currency; the quote is the one Quote's own
    constructor makes of its fields; it is payable for `valid_for` of elapsed time."""
    offer = price(
        tariff, estimated, maintained_site=maintained_site, issued_at=issued_at, valid_for=valid_for
    )
    billable, gross, discount, total, reason = reference_breakdown(
        tariff, estimated, maintained_site=maintained_site
    )
    currency = tariff.hourly_rate.currency
    assert [digits(n) for n in (estimated, billable, gross, discount, total)] == [
        digits(n)
        for n in (
            offer.hours,
            offer.billable_hours,
            offer.gross.amount,
            offer.discount.amount,
            offer.total.amount,
        )
    ]
    assert [currency] * 3 == [offer.gross.currency, offer.discount.currency, offer.total.currency]
    assert (reason, tariff.version, tariff.hourly_rate) == (
        offer.discount_reason,
        offer.tariff_version,
        offer.rate,
    )
    assert issued_at is offer.issued_at
    assert pendulum.DateTime is type(offer.payable_until)
    assert valid_for == elapsed(issued_at, offer.payable_until)
    rebuilt = Quote(*(getattr(offer, field.name) for field in attrs.fields(Quote)))
    assert (rebuilt, repr(rebuilt)) == (offer, repr(offer))
