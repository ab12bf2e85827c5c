"""Hypothesis strategies for the komtet-works domain, collected in one module.

Every test module draws its values from here, so "any hours", "any instant" or "any tariff"
means the same thing everywhere.  Alongside the strategies lives `World`: the facts an
order's steps need besides the order itself, and the one place that knows how to take each
step with valid arguments (used by `walk_to` and by the `orders` strategy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import attrs
import pendulum
from hypothesis import strategies as st

from komtet_works import (
    Action,
    Actor,
    Backup,
    ClaimOutcome,
    ClaimWindowMeasure,
    Customer,
    HoursRounding,
    Money,
    Payment,
    Policy,
    PriceLock,
    Refund,
    State,
    Tariff,
    WorkOrder,
)
from komtet_works.domain.lifecycle import allowed_actions
from komtet_works.domain.money import CURRENCIES
from komtet_works.domain.pricing import MAX_ESTIMATE_HOURS

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


def in_zone(instant: pendulum.DateTime, zone: Zone | str) -> pendulum.DateTime:
    """The same instant shown in another zone (a different wall clock, the same moment)."""
    return instant.in_timezone(zone)


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


# --- orders: one valid way to take every step --------------------------------------------

DEFAULT_CUSTOMER: Final = Customer(
    "c1",
    sites=frozenset({"shop.example", "blog.example"}),
    servers=frozenset({"vps-1.example"}),
    maintained_sites=frozenset({"shop.example"}),
)
STAFF: Final = Actor.staff("s1")
BILLING: Final = Actor.system("billing")
#: A Monday morning in Moscow: where `walk_to` starts unless told otherwise.
START: Final = pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow")


@attrs.frozen
class World:
    """Everything an order's steps need besides the order: who acts, under which rules.

    `take` performs any action the transition table allows with arguments the guards
    accept (a payment of the current total, full refunds with receipts, a verified backup).
    """

    customer: Customer = DEFAULT_CUSTOMER
    target: str = "shop.example"
    tariff: Tariff = attrs.field(factory=Tariff)
    policy: Policy = attrs.field(factory=Policy)
    staff: Actor = STAFF
    billing: Actor = BILLING
    hours: str = "2"

    @property
    def owner(self) -> Actor:
        return Actor.customer(self.customer.id)

    def request(self, at: object, *, order_id: str = "o1") -> WorkOrder:
        return WorkOrder.request(
            order_id=order_id,
            customer=self.customer,
            target=self.target,
            problem="the module returns errors",
            at=at,
        )

    def payment(self, order: WorkOrder, at: pendulum.DateTime) -> Payment:
        """A payment of the order's current quote, with a fresh billing id."""
        quote = order.ledger.current_quote
        if quote is None:
            raise ValueError(f"order {order.id} has no current quote to pay")
        return Payment(f"{order.id}-pay-{len(order.ledger.payments) + 1}", quote.total, at)

    def refunds(self, order: WorkOrder) -> tuple[Refund, ...]:
        """Every payment not yet refunded, in full, each with the billing system's receipt."""
        return tuple(
            attrs.evolve(due, reference=f"receipt-{due.payment_id}")
            for due in order.ledger.refunds_due()
        )

    def can(self, order: WorkOrder, action: Action, at: pendulum.DateTime) -> bool:
        """Whether `take(order, action, at)` passes the guards beyond the transition table
        (a step at or after `at` that `close` needs is arranged by the caller)."""
        works = order.works
        if action is Action.CLAIM:
            return (
                len(works.claims) < self.policy.max_claims
                and works.claim_deadline is not None
                and at <= works.claim_deadline
                and not works.changed_since_start()
            )
        if action is Action.PAY:
            quote = order.ledger.current_quote
            return quote is not None and quote.is_payable_at(at)
        if action is Action.CANCEL:
            return self.policy.cancel_before_start
        return action in allowed_actions(order.state)

    def take(self, order: WorkOrder, action: Action, at: pendulum.DateTime) -> WorkOrder:
        """Perform `action` on `order` at `at`, as the actor who may take it."""
        return _STEPS[action](self, order, at)


def _supplement(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.supplement(by=world.owner, at=at, text="it fails only on the checkout page")


def _estimate(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.estimate(
        by=world.staff,
        at=at,
        hours=world.hours,
        tariff=world.tariff,
        customer=world.customer,
        policy=world.policy,
    )


def _decline(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.decline(by=world.owner, at=at, note="too expensive")


def _pay(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.pay(
        by=world.billing,
        at=at,
        payment=world.payment(order, at),
        policy=world.policy,
        tariff=world.tariff,
        customer=world.customer,
    )


def _schedule(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.schedule(by=world.staff, at=at, due=at.add(days=2))


def _cancel(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.cancel(by=world.owner, at=at, refunds=world.refunds(order), policy=world.policy)


def _start(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    backup = Backup(f"{order.id}-backup-{order.version}", at, verified=True)
    return order.start(by=world.staff, at=at, backup=backup)


def _customer_change(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.record_customer_change(by=world.owner, at=at, note="edited a template")


def _complete(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.complete(by=world.staff, at=at, notice_sent_at=at, policy=world.policy)


def _fail(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.fail(by=world.staff, at=at, refunds=world.refunds(order), restored=True)


def _claim(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.claim(by=world.owner, at=at, text="the errors are back", policy=world.policy)


def _accept_claim(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.resolve_claim(
        by=world.staff,
        at=at,
        outcome=ClaimOutcome.REFUND,
        refunds=world.refunds(order),
        restored=True,
    )


def _reject_claim(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.resolve_claim(by=world.staff, at=at, outcome=ClaimOutcome.REJECT)


def _rework(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.resolve_claim(by=world.staff, at=at, outcome=ClaimOutcome.REWORK)


def _close(world: World, order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.close(by=world.staff, at=at)


_STEPS: Final[Mapping[Action, Callable[[World, WorkOrder, pendulum.DateTime], WorkOrder]]] = {
    Action.SUPPLEMENT: _supplement,
    Action.ESTIMATE: _estimate,
    Action.DECLINE: _decline,
    Action.PAY: _pay,
    Action.SCHEDULE: _schedule,
    Action.CANCEL: _cancel,
    Action.START: _start,
    Action.CUSTOMER_CHANGE: _customer_change,
    Action.COMPLETE: _complete,
    Action.FAIL: _fail,
    Action.CLAIM: _claim,
    Action.ACCEPT_CLAIM: _accept_claim,
    Action.REJECT_CLAIM: _reject_claim,
    Action.REWORK: _rework,
    Action.CLOSE: _close,
}

_A = Action
#: One path from a new order to each state.
PATHS: Final[Mapping[State, tuple[Action, ...]]] = {
    State.REQUESTED: (),
    State.ESTIMATED: (_A.ESTIMATE,),
    State.DECLINED: (_A.ESTIMATE, _A.DECLINE),
    State.PAID: (_A.ESTIMATE, _A.PAY),
    State.CANCELLED: (_A.ESTIMATE, _A.PAY, _A.CANCEL),
    State.SCHEDULED: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE),
    State.IN_PROGRESS: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE, _A.START),
    State.REFUNDED: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE, _A.START, _A.FAIL),
    State.COMPLETED: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE, _A.START, _A.COMPLETE),
    State.CLAIMED: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE, _A.START, _A.COMPLETE, _A.CLAIM),
    State.CLOSED: (_A.ESTIMATE, _A.PAY, _A.SCHEDULE, _A.START, _A.COMPLETE, _A.CLOSE),
}


def walk_to(
    state: State,
    *,
    world: World | None = None,
    at: pendulum.DateTime = START,
    step: timedelta = timedelta(hours=1),
    order_id: str = "o1",
) -> WorkOrder:
    """An order brought to `state` along `PATHS`, one step every `step` from `at`.

    Closing waits until one second after the claim deadline.
    """
    world = world if world is not None else World()
    order = world.request(at, order_id=order_id)
    for action in PATHS[state]:
        at = _next(order, action, at + step)
        order = world.take(order, action, at)
    return order


def _next(order: WorkOrder, action: Action, at: pendulum.DateTime) -> pendulum.DateTime:
    """`at`, or for closing, no earlier than one second after the claim deadline."""
    deadline = order.works.claim_deadline
    if action is Action.CLOSE and deadline is not None and at <= deadline:
        return deadline.add(seconds=1)
    return at


def next_instant(
    after: pendulum.DateTime, *, most: timedelta = timedelta(hours=6)
) -> st.SearchStrategy[pendulum.DateTime]:
    """An instant from `after` to `most` later (to the microsecond), shown in any zone."""
    return st.builds(
        lambda micros, zone: (after + timedelta(microseconds=micros)).in_timezone(zone),
        st.integers(0, int(most / timedelta(microseconds=1))),
        zones(),
    )


@st.composite
def orders(draw: st.DrawFn, *, world: World | None = None, max_steps: int = 16) -> WorkOrder:
    """An order after a random walk of valid steps through the transition table."""
    world = world if world is not None else World()
    at = draw(instants())
    order = world.request(at, order_id=draw(st.from_regex(r"o[0-9]{1,4}", fullmatch=True)))
    for _ in range(draw(st.integers(0, max_steps))):
        at = draw(next_instant(at))
        possible = sorted(
            (a for a in allowed_actions(order.state) if world.can(order, a, at)),
            key=lambda a: a.value,
        )
        if not possible:
            break
        action = draw(st.sampled_from(possible))
        at = _next(order, action, at)
        order = world.take(order, action, at)
    return order
