"""Pricing: a tariff and the pure function that turns an estimate into a quote.

The order of operations is part of the specification (rule P6):

1. the minimum term: hours below `Tariff.minimum_hours` are billed as the minimum;
2. the billing increment, if the tariff has one (by default it has none: the hours are
   billed as estimated): the result is rounded to a whole number of increments, up, to the
   nearest (half-up) or down, as the tariff says;
3. the rate: gross = billable hours x hourly rate;
4. the discount: the Site Maintenance discount, a share of gross;
5. money rounding, once per computed amount (half-up to kopecks); the total is
   gross minus the discounts, so the breakdown always adds up to the kopeck.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from typing import Final

import attrs
import pendulum

from komtet_works.domain.errors import InvalidHours, InvalidInput
from komtet_works.domain.instants import exact_after
from komtet_works.domain.money import ExactNumber, Money, parse_decimal

#: Estimates above this are refused as implausible rather than billed.
MAX_ESTIMATE_HOURS: Final = Decimal(10_000)

#: Hours are estimated to at most this many decimal places (a second is 0.0003 h).
HOURS_PLACES: Final = 6

MAINTENANCE_DISCOUNT_REASON: Final = "site_maintenance"

_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)

_new = object.__new__
_rounded = Money.rounded  # bound once: price calls it twice a quote

#: Rule P1: one hour of work costs 1000 rubles.
SEED_HOURLY_RATE: Final = Money(Decimal("1000.00"), "RUB")


class HoursRounding(enum.Enum):
    """How hours above the minimum are rounded to the billing increment."""

    UP = "up"
    NEAREST = "nearest"
    DOWN = "down"


_DECIMAL_ROUNDING: Final = {
    HoursRounding.UP: ROUND_UP,
    HoursRounding.NEAREST: ROUND_HALF_UP,
    HoursRounding.DOWN: ROUND_DOWN,
}


def parse_hours(value: object, *, field: str = "hours") -> Decimal:
    """Hours as estimated: a finite decimal above zero, at most `MAX_ESTIMATE_HOURS`, to
    at most `HOURS_PLACES` decimal places.

    The result is canonical, so ``"2"`` and ``"2.00"`` are the same hours.
    """
    try:
        hours = parse_decimal(value, field=field)
    except InvalidInput as error:
        raise InvalidHours(str(error), field=field) from None
    if hours <= 0:
        raise InvalidHours(f"{field} must be above zero, got {value!r}", field=field)
    if hours > MAX_ESTIMATE_HOURS:
        raise InvalidHours(
            f"{field} above {MAX_ESTIMATE_HOURS} is not a plausible estimate", field=field
        )
    exact = canonical(hours)
    if exact != hours or exact.as_tuple().exponent < -HOURS_PLACES:  # type: ignore[operator]
        raise InvalidHours(
            f"{field} is given to more than {HOURS_PLACES} decimal places: {value!r}",
            field=field,
        )
    return exact


def canonical(number: Decimal) -> Decimal:
    """The shortest exact form of a decimal: 2.00 -> 2, 0.50 -> 0.5, never 1E+2."""
    if number.is_finite() and number == number.to_integral_value():
        return number.quantize(_ONE)
    return number.normalize()


def _figure(value: ExactNumber, field: str) -> Decimal:
    """A tariff figure read exactly (no floats), in its canonical form."""
    return canonical(parse_decimal(value, field=field))


def _minimum_hours(value: ExactNumber) -> Decimal:
    return _figure(value, "minimum_hours")


def _billing_increment(value: ExactNumber | None) -> Decimal | None:
    return None if value is None else _figure(value, "billing_increment")


def _maintenance_discount(value: ExactNumber) -> Decimal:
    return _figure(value, "maintenance_discount")


def _positive(name: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise InvalidInput(f"tariff {name} must be above zero, got {value}", field=name)


@attrs.frozen
class Tariff:
    """The price list of the service; the default is the one the service description gives.

    `billing_increment` is None by default (decision D-INCREMENT): above the minimum the
    staff's hours are billed as estimated; a host may set an increment and its rounding.
    """

    version: str = "seed"
    hourly_rate: Money = SEED_HOURLY_RATE
    minimum_hours: Decimal = attrs.field(default=Decimal(1), converter=_minimum_hours)
    billing_increment: Decimal | None = attrs.field(default=None, converter=_billing_increment)
    hours_rounding: HoursRounding = HoursRounding.UP
    maintenance_discount: Decimal = attrs.field(
        default=Decimal("0.20"), converter=_maintenance_discount
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.hourly_rate, Money):
            raise InvalidInput("tariff hourly_rate must be Money", field="hourly_rate")
        if not isinstance(self.hours_rounding, HoursRounding):
            raise InvalidInput(
                "tariff hours_rounding must be an HoursRounding", field="hours_rounding"
            )
        _positive("hourly_rate", self.hourly_rate.amount)
        _positive("minimum_hours", self.minimum_hours)
        if self.billing_increment is not None:
            self._check_increment(self.billing_increment)
        share = self.maintenance_discount
        if not (share.is_finite() and 0 <= share < 1):  # NaN cannot even be compared
            raise InvalidInput(
                "tariff maintenance_discount is a share in [0, 1)", field="maintenance_discount"
            )

    def _check_increment(self, increment: Decimal) -> None:
        _positive("billing_increment", increment)
        try:
            misaligned = self.minimum_hours % increment
        except InvalidOperation:  # more increments than the decimal context can count
            raise InvalidInput(
                "tariff minimum_hours is more billing increments than can be counted exactly",
                field="minimum_hours",
            ) from None
        if misaligned:
            raise InvalidInput(
                "tariff minimum_hours must be a whole number of billing increments",
                field="minimum_hours",
            )

    @property
    def no_discount(self) -> Money:
        return Money.zero(self.hourly_rate.currency)

    def billable_hours(self, hours: Decimal, *, supplementary: bool = False) -> Decimal:
        """Steps 1 and 2: the minimum term, then the billing increment if there is one.

        A supplementary estimate (rule H4) adds hours to works whose first quote met the
        order's minimum term: it has none of its own, only never less than one increment.
        """
        minimum = (self.billing_increment or _ZERO) if supplementary else self.minimum_hours
        # max(minimum, hours), without the call: max() loops over a tuple of its arguments
        counted = hours if hours > minimum else minimum  # noqa: FURB136
        increment = self.billing_increment
        if increment is None or not counted % increment:
            return counted
        increments = (counted / increment).quantize(
            _ONE, rounding=_DECIMAL_ROUNDING[self.hours_rounding]
        )
        return canonical(increments * increment)


@attrs.frozen
class Quote:
    """A price offer with its whole breakdown; payable until `payable_until`.

    A quote carries at most one discount (decision D-DISCOUNT-STACKING): `discount` is
    zero and `discount_reason` None when none applies.
    """

    hours: Decimal
    billable_hours: Decimal
    rate: Money
    gross: Money
    discount: Money
    discount_reason: str | None
    total: Money
    tariff_version: str
    issued_at: pendulum.DateTime
    payable_until: pendulum.DateTime
    #: the tariff the quote was priced under, whole: its minimum term, increment and
    #: discount bill the hours spent at the quote's own terms (rule H2); None in quotes
    #: recorded before quotes kept it
    tariff: Tariff | None = None

    @property
    def currency(self) -> str:
        return self.total.currency

    def terms(self, fallback: Tariff) -> Tariff:
        """The tariff the quote was priced under; `fallback` for a quote without its own."""
        return self.tariff if self.tariff is not None else fallback

    def price_of(self, hours: Decimal, tariff: Tariff) -> Money:
        """What `hours` cost at this quote's terms (rule H2, D-PRICE-LOCK): priced as the
        quote was (rule P6), by its tariff's minimum term and increment, at its rate, with
        its discount if it had one.  `tariff` stands in for a quote recorded without its
        own."""
        return price(
            attrs.evolve(self.terms(tariff), hourly_rate=self.rate),
            hours,
            maintained_site=self.discount_reason is not None,
            issued_at=self.issued_at,
            valid_for=timedelta(0),  # only the total is wanted
        ).total

    def is_payable_at(self, instant: pendulum.DateTime) -> bool:
        return instant <= self.payable_until


# The setters of Quote's slots, in the order of its fields, for `_computed`.  (A field added
# to Quote and not set there fails right here, at import.)
(
    _set_hours,
    _set_billable_hours,
    _set_rate,
    _set_gross,
    _set_discount,
    _set_discount_reason,
    _set_total,
    _set_tariff_version,
    _set_issued_at,
    _set_payable_until,
    _set_tariff,
) = (Quote.__dict__[field.name].__set__ for field in attrs.fields(Quote))


def _computed(  # noqa: PLR0917 - the fields of a Quote, in its order, as Quote takes them
    hours: Decimal,
    billable: Decimal,
    rate: Money,
    gross: Money,
    discount: Money,
    reason: str | None,
    total: Money,
    version: str,
    issued_at: pendulum.DateTime,
    payable_until: pendulum.DateTime,
    tariff: Tariff,
) -> Quote:
    """The Quote of the fields `price` has computed, each slot set straight.

    Quote's __init__ checks nothing, and a frozen class sets each field through
    object.__setattr__, by its name: on this path, the dearest step of a quote.
    """
    quote: Quote = _new(Quote)
    _set_hours(quote, hours)
    _set_billable_hours(quote, billable)
    _set_rate(quote, rate)
    _set_gross(quote, gross)
    _set_discount(quote, discount)
    _set_discount_reason(quote, reason)
    _set_total(quote, total)
    _set_tariff_version(quote, version)
    _set_issued_at(quote, issued_at)
    _set_payable_until(quote, payable_until)
    _set_tariff(quote, tariff)
    return quote


def price(
    tariff: Tariff,
    hours: Decimal,
    *,
    maintained_site: bool,
    issued_at: pendulum.DateTime,
    valid_for: timedelta,
    supplementary: bool = False,
) -> Quote:
    """Quote `hours` (already checked by `parse_hours`) under `tariff`.

    `maintained_site` is the eligibility fact of rule P4: the serviced target is a site
    under an active Site Maintenance subscription of the ordering customer.
    `supplementary` prices the extra hours of works in progress (rule H4).
    """
    billable = tariff.billable_hours(hours, supplementary=supplementary)
    rate = tariff.hourly_rate
    currency = rate.currency
    gross = _rounded(billable * rate.amount, currency)
    share = tariff.maintenance_discount
    if maintained_site and share:
        discount = _rounded(gross.amount * share, currency)
        reason: str | None = MAINTENANCE_DISCOUNT_REASON
        total = gross - discount
    else:
        discount = tariff.no_discount
        reason = None
        total = gross
    return _computed(
        hours,
        billable,
        rate,
        gross,
        discount,
        reason,
        total,
        tariff.version,
        issued_at,
        exact_after(issued_at, valid_for),
        tariff,
    )
