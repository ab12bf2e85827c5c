"""Hypothesis strategies for the komtet-works domain, collected in one module.

Every test module draws its values from here, so "any hours", "any instant" or "any tariff"
means the same thing everywhere.  Orders in any state, and random histories, come from the
shipped test kit (`komtet_works.testing.orders` and `komtet_works.testing.strategies`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import pendulum
from hypothesis import strategies as st

from komtet_works import (
    ClaimWindowMeasure,
    Customer,
    HoursRounding,
    Money,
    Policy,
    PriceLock,
    Tariff,
)
from komtet_works.domain.money import CURRENCIES
from komtet_works.domain.pricing import MAINTENANCE_DISCOUNT_REASON, MAX_ESTIMATE_HOURS, Quote
from komtet_works.domain.works import ClaimOutcome
from komtet_works.ports import (
    ClaimDecidedFacts,
    CompletionDateFacts,
    CompletionDateRevisedFacts,
    Facts,
    PaymentReceivedFacts,
    QuoteIssuedFacts,
    RefundedFacts,
    SupplementaryQuoteFacts,
    WorksCompletedFacts,
    WorksStartingFacts,
)

# --- time --------------------------------------------------------------------------------

#: Zones the instants are drawn in: no DST, DST in both hemispheres, half-hour offsets,
#: and a zone whose DST shift is 30 minutes.
ZONES: Final = (
    "UTC",
    "Europe/Moscow",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
#: The zone with DST changes the claim-window rules are proven in.
DST_ZONE: Final = "Europe/Berlin"

#: Instants are drawn between these (2000-01-01 and 2037-12-31 UTC).
EARLIEST: Final = 946_684_800
LATEST: Final = 2_145_830_400

Zone = pendulum.Timezone | pendulum.FixedTimezone


def zones() -> st.SearchStrategy[Zone]:
    """A named zone from `ZONES`, or a fixed UTC offset in whole minutes."""
    fixed = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
        lambda minutes: pendulum.timezone(minutes * 60)
    )
    return st.sampled_from(ZONES).map(pendulum.timezone) | fixed


def instants(
    *,
    zone: st.SearchStrategy[Zone] | None = None,
    min_timestamp: int = EARLIEST,
    max_timestamp: int = LATEST,
    microseconds: bool = True,
) -> st.SearchStrategy[pendulum.DateTime]:
    """An aware pendulum instant, shown in a zone drawn from `zone` (default: `zones()`)."""
    micros = st.integers(0, 999_999) if microseconds else st.just(0)
    return st.builds(
        lambda seconds, micro, tz: pendulum.from_timestamp(seconds, tz=tz).add(microseconds=micro),
        st.integers(min_timestamp, max_timestamp),
        micros,
        zone if zone is not None else zones(),
    )


def elapsed(start: datetime, end: datetime) -> timedelta:
    """The exact elapsed time from `start` to `end`, computed in UTC by the standard library
    (neither a shared zone's wall clock nor pendulum's arithmetic can bend it)."""
    return datetime.__sub__(end.astimezone(UTC), start.astimezone(UTC))


def eu_summer_time_switches(year: int) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """The EU's DST switches of `year` (since 1996): 01:00 UTC on the last Sundays of March
    and October."""

    def last_sunday(month: int) -> date:
        last = date(year, month, 31)
        return last - timedelta(days=(last.isoweekday() % 7))

    spring, autumn = last_sunday(3), last_sunday(10)
    return (
        pendulum.datetime(spring.year, spring.month, spring.day, 1, tz="UTC"),
        pendulum.datetime(autumn.year, autumn.month, autumn.day, 1, tz="UTC"),
    )


def instants_near_dst_switch(
    *,
    zone: str = DST_ZONE,
    before: timedelta = timedelta(days=4),
    after: timedelta = timedelta(hours=2),
) -> st.SearchStrategy[pendulum.DateTime]:
    """An instant in an EU zone from `before` a DST switch to `after` it, to the second."""

    @st.composite
    def near(draw: st.DrawFn) -> pendulum.DateTime:
        switch = draw(st.sampled_from(eu_summer_time_switches(draw(st.integers(2000, 2037)))))
        offset = draw(st.integers(-int(before.total_seconds()), int(after.total_seconds())))
        return switch.add(seconds=offset).in_timezone(zone)

    return near()


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """A stdlib (not pendulum) aware datetime in UTC."""
    return st.integers(EARLIEST, LATEST).map(lambda ts: datetime.fromtimestamp(ts, UTC))


def naive_datetimes() -> st.SearchStrategy[datetime]:
    """A datetime without a time zone: never an instant."""
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31))  # noqa: DTZ001


# --- decimals: hours and money -----------------------------------------------------------


def hours(
    *,
    min_value: Decimal = Decimal("0.000001"),
    max_value: Decimal = MAX_ESTIMATE_HOURS,
    places: int = 6,
) -> st.SearchStrategy[Decimal]:
    """Valid estimated hours (rule P8): a positive decimal up to `MAX_ESTIMATE_HOURS`."""
    return st.decimals(
        min_value=min_value,
        max_value=max_value,
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def spellings(value: Decimal) -> st.SearchStrategy[Decimal | int | str]:
    """Every way a caller may write the decimal `value`: "2", "2.00", " 2.0 ", "2.000e+0",
    Decimal("2.0000"), 2.  They all stand for the same number."""
    plain = f"{value:f}"
    pointed = plain if "." in plain else f"{plain}."
    options: list[st.SearchStrategy[Decimal | int | str]] = [
        st.just(plain),
        st.just(value),
        st.integers(1, 6).map(lambda zeros: pointed + "0" * zeros),
        st.integers(1, 6).map(lambda zeros: value.quantize(Decimal(1).scaleb(-zeros - 6))),
        st.just(f"{value:e}"),
        st.just(f"  {plain}\t"),
    ]
    if value == value.to_integral_value():
        options.append(st.just(int(value)))
    return st.one_of(options)


def hours_inputs() -> st.SearchStrategy[Decimal | int | str]:
    """Valid hours as a caller may pass them: Decimal, int or decimal string."""
    return hours().flatmap(spellings)


def _not_a_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except ArithmeticError:
        return True
    return False


#: Inputs that are not a finite decimal in any currency or unit.
NON_NUMBERS: Final = st.one_of(
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(["NaN", "nan", "-NaN", "sNaN", "inf", "-Infinity", "Infinity", "", " "]),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
    st.text(max_size=12).filter(_not_a_number),
    st.lists(st.integers(), max_size=2),
    st.sampled_from([1j, b"2", object()]),
)


def invalid_hours_inputs() -> st.SearchStrategy[object]:
    """Hours a caller may send that rule P8 refuses: non-numbers, zero, negative, too many."""
    return st.one_of(
        NON_NUMBERS,
        st.sampled_from([0, "0", "0.00", Decimal("-0"), "-0.0"]),
        st.decimals(max_value=Decimal(0), allow_nan=False, allow_infinity=False).map(str),
        st.integers(max_value=-1),
        st.decimals(
            min_value=MAX_ESTIMATE_HOURS + Decimal("0.000001"),
            max_value=Decimal("1e12"),
            places=6,
        ).flatmap(spellings),
    )


def amounts(
    *,
    min_value: Decimal = Decimal("-1000000000.00"),
    max_value: Decimal = Decimal("1000000000.00"),
) -> st.SearchStrategy[Decimal]:
    """A decimal with at most kopeck precision."""
    return st.decimals(min_value=min_value, max_value=max_value, places=2)


def currencies() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(CURRENCIES))


def moneys(
    *,
    currency: str | None = None,
    min_value: Decimal = Decimal("-1000000000.00"),
    max_value: Decimal = Decimal("1000000000.00"),
) -> st.SearchStrategy[Money]:
    """Exact money in `currency` (default: any known currency)."""
    return st.builds(
        Money.of,
        amounts(min_value=min_value, max_value=max_value),
        st.just(currency) if currency is not None else currencies(),
    )


def too_precise_amounts() -> st.SearchStrategy[Decimal | str]:
    """Amounts with a non-zero digit below the kopeck: rule M2 refuses them."""
    return (
        st.tuples(amounts(), st.integers(1, 9), st.integers(3, 8))
        .map(lambda t: t[0] + Decimal(t[1]).scaleb(-t[2]))
        .flatmap(lambda amount: st.sampled_from([amount, f"{amount:f}"]))
    )


def invalid_amounts() -> st.SearchStrategy[object]:
    """Amounts rules M1 and M2 refuse: non-numbers, floats, NaN, infinities, sub-kopecks."""
    return NON_NUMBERS | too_precise_amounts()


# --- tariffs and policies ----------------------------------------------------------------

INCREMENTS: Final = tuple(Decimal(text) for text in ("0.01", "0.1", "0.25", "0.5", "1", "0.2"))


@st.composite
def tariffs(draw: st.DrawFn, *, currency: str | None = None) -> Tariff:
    """A valid tariff: any rate, increment, whole-increment minimum, rounding and discount."""
    increment = draw(st.sampled_from(INCREMENTS))
    return Tariff(
        version=draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)),
        hourly_rate=draw(
            moneys(currency=currency, min_value=Decimal("0.01"), max_value=Decimal("100000.00"))
        ),
        minimum_hours=increment * draw(st.integers(1, 12)),
        billing_increment=increment,
        hours_rounding=draw(st.sampled_from(HoursRounding)),
        maintenance_discount=draw(st.decimals(min_value=0, max_value=Decimal("0.99"), places=2)),
    )


def policies() -> st.SearchStrategy[Policy]:
    """A valid policy: any positive windows, zone, measure, lock and claim limit."""
    durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30))
    return st.builds(
        Policy,
        claim_window=durations,
        claim_window_measure=st.sampled_from(ClaimWindowMeasure),
        provider_timezone=st.sampled_from(ZONES),
        quote_valid_for=durations,
        price_lock=st.sampled_from(PriceLock),
        max_claims=st.integers(1, 3),
        cancel_before_start=st.booleans(),
    )


# --- customers and their targets ----------------------------------------------------------

#: Host names of sites and servers.
TARGET_NAMES: Final = st.from_regex(r"[a-z][a-z0-9-]{0,8}\.example", fullmatch=True)


@st.composite
def customers(draw: st.DrawFn, *, customer_id: str | None = None) -> Customer:
    """A customer with at least one site, any servers, and any of its sites maintained."""
    names = draw(st.lists(TARGET_NAMES, min_size=1, max_size=6, unique=True))
    split = draw(st.integers(1, len(names)))
    sites = frozenset(names[:split])
    return Customer(
        customer_id
        if customer_id is not None
        else draw(st.from_regex(r"c[0-9]{1,4}", fullmatch=True)),
        sites=sites,
        servers=frozenset(names[split:]),
        maintained_sites=draw(st.frozensets(st.sampled_from(sorted(sites)))),
    )


@st.composite
def customer_targets(draw: st.DrawFn) -> tuple[Customer, str]:
    """A customer and the name of one of their own sites or servers."""
    customer = draw(customers())
    return customer, draw(st.sampled_from(sorted(customer.sites | customer.servers)))


# --- the facts of messages -----------------------------------------------------------------


def facts() -> st.SearchStrategy[Facts]:
    """The facts of a message of any kind, any amounts, instants and free text."""
    money = moneys(min_value=Decimal(0))
    when = instants()
    reason = st.none() | st.just(MAINTENANCE_DISCOUNT_REASON) | st.text()
    return st.one_of(
        st.builds(
            QuoteIssuedFacts,
            st.builds(
                Quote, hours(), hours(), money, money, money, reason, money, st.text(), when, when
            ),
            supplementary=st.none() | st.builds(SupplementaryQuoteFacts, hours(), hours()),
        ),
        st.builds(PaymentReceivedFacts, money, when),
        st.builds(CompletionDateFacts, when),
        st.builds(CompletionDateRevisedFacts, when, when, st.text()),
        st.builds(WorksStartingFacts, when, st.none() | when),
        st.builds(
            WorksCompletedFacts,
            when,
            st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
            st.sampled_from(ClaimWindowMeasure),
        ),
        st.builds(  # rule H2: the hours spent and the refund of the unused ones
            WorksCompletedFacts,
            when,
            st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
            st.sampled_from(ClaimWindowMeasure),
            hours(),
            money,
        ),
        st.builds(ClaimDecidedFacts, st.sampled_from(ClaimOutcome), st.text()),
        st.builds(RefundedFacts, money, st.none() | st.booleans()),
    )
