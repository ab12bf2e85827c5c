"""The lifecycle and the quote, each against its baseline in the same run.

    python benchmarks/lifecycle.py [--rounds N] [--smoke] [--json PATH]

Figures (issue 12):

- one order's whole life through the domain (request, estimate, pay, schedule, start,
  complete, close: 7 transitions) against a hand-written frozen-attrs floor doing the
  same steps (a state check, an event, a new frozen order holding the events);
- python-statemachine and transitions (a Machine per model, as its docs show) driving the
  same 7 states, against our life: how many times slower the peers are;
- a quote against the bare Decimal arithmetic it performs;
- the same life through the use cases (`bootstrap.in_memory`) against the domain alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import attrs
import pendulum
import statemachine
import transitions

from harness import calls, start, whole_life
from komtet_works import (
    Actor,
    Backup,
    Customer,
    Money,
    Payment,
    Policy,
    State,
    Tariff,
    WorkOrder,
    bootstrap,
    parse_hours,
    price,
)
from komtet_works.adapters.memory import ManualClock
from komtet_works.testing.orders import notified

AT: Final = pendulum.datetime(2026, 3, 2, 7, tz="UTC")  # as the SystemClock gives it
TARIFF: Final = Tariff()
POLICY: Final = Policy()
CUSTOMER: Final = Customer(
    "c1", sites=frozenset({"shop.example"}), maintained_sites=frozenset({"shop.example"})
)
STAFF: Final = Actor.staff("s1")
BILLING: Final = Actor.system("billing")
HOUR: Final = timedelta(hours=1)
#: The instants of the 7 steps: an hour apart, the last past the claim window.
STEPS: Final = [AT + n * HOUR for n in range(6)] + [AT + 5 * HOUR + POLICY.claim_window + HOUR]
PAID: Final = Money.of("1600.00")
#: The completion date announced, computed beforehand as the steps' instants are (pendulum's
#: arithmetic took a sixth of the life timed: the benchmark's cost, not the domain's).
DUE: Final = STEPS[3] + 2 * HOUR

# --- ours, through the domain ---------------------------------------------------------


def domain_life(order_id: str = "o1") -> WorkOrder:
    """One order from request to close through the domain, as the use cases drive it."""
    requested, estimated, paid, scheduled, started, completed, closed = STEPS
    order = WorkOrder.request(
        order_id=order_id,
        customer=CUSTOMER,
        target="shop.example",
        problem="module fails",
        at=requested,
    )
    order = order.estimate(
        by=STAFF, at=estimated, hours="2", tariff=TARIFF, customer=CUSTOMER, policy=POLICY
    )
    order = order.pay(
        by=BILLING,
        at=paid,
        payment=Payment(f"p-{order_id}", PAID, paid),
        policy=POLICY,
        tariff=TARIFF,
        customer=CUSTOMER,
    )
    order = order.schedule(by=STAFF, at=scheduled, due=DUE)
    backup = Backup(f"bk-{order_id}", started, verified=True)
    order = order.start(by=STAFF, at=started, backup=backup)
    order = notified(order, at=completed, sent_at=completed, policy=POLICY)
    return order.close(by=STAFF, at=closed)


# --- the floor: the same steps written by hand on frozen attrs ------------------------


@attrs.frozen
class FloorEvent:
    order_id: str
    actor: str
    at: pendulum.DateTime
    before: State | None
    after: State
    amount: Decimal = Decimal(0)


@attrs.frozen
class FloorOrder:
    id: str
    state: State
    paid: Decimal
    events: tuple[FloorEvent, ...]

    def step(self, before: State, after: State, actor: str, at: pendulum.DateTime) -> FloorOrder:
        if self.state is not before:
            raise ValueError(self.state)
        event = FloorEvent(self.id, actor, at, before, after)
        return FloorOrder(self.id, after, self.paid, (*self.events, event))

    def pay(self, amount: Decimal, at: pendulum.DateTime) -> FloorOrder:
        if self.state is not State.ESTIMATED:
            raise ValueError(self.state)
        event = FloorEvent(self.id, "billing", at, State.ESTIMATED, State.PAID, amount)
        return FloorOrder(self.id, State.PAID, self.paid + amount, (*self.events, event))


FLOOR_AMOUNT: Final = Decimal("1600.00")


def floor_life(order_id: str = "o1") -> FloorOrder:
    requested, estimated, paid, scheduled, started, completed, closed = STEPS
    event = FloorEvent(order_id, "c1", requested, None, State.REQUESTED)
    order = FloorOrder(order_id, State.REQUESTED, Decimal(0), (event,))
    order = order.step(State.REQUESTED, State.ESTIMATED, "s1", estimated)
    order = order.pay(FLOOR_AMOUNT, paid)
    order = order.step(State.PAID, State.SCHEDULED, "s1", scheduled)
    order = order.step(State.SCHEDULED, State.IN_PROGRESS, "s1", started)
    order = order.step(State.IN_PROGRESS, State.COMPLETED, "s1", completed)
    return order.step(State.COMPLETED, State.CLOSED, "s1", closed)


# --- the peers ------------------------------------------------------------------------


class PeerLife(statemachine.StateMachine):
    """python-statemachine: the same 7 states and 6 events after the request."""

    requested = statemachine.State(initial=True)
    estimated = statemachine.State()
    paid = statemachine.State()
    scheduled = statemachine.State()
    in_progress = statemachine.State()
    completed = statemachine.State()
    closed = statemachine.State(final=True)

    estimate = requested.to(estimated)
    pay = estimated.to(paid)
    schedule = paid.to(scheduled)
    start = scheduled.to(in_progress)
    complete = in_progress.to(completed)
    close = completed.to(closed)


EVENTS: Final = ("estimate", "pay", "schedule", "start", "complete", "close")


def statemachine_life() -> object:
    machine = PeerLife()  # the request: a new machine in `requested`
    for event in EVENTS:
        machine.send(event)
    return machine


TRANSITIONS_TABLE: Final = [
    {"trigger": event, "source": source, "dest": dest}
    for event, source, dest in zip(
        EVENTS,
        ["requested", "estimated", "paid", "scheduled", "in_progress", "completed"],
        ["estimated", "paid", "scheduled", "in_progress", "completed", "closed"],
        strict=True,
    )
]
PEER_STATES: Final = [
    "requested",
    "estimated",
    "paid",
    "scheduled",
    "in_progress",
    "completed",
    "closed",
]


class PeerModel:
    """The model transitions decorates with its triggers."""


def transitions_life() -> object:
    model = PeerModel()
    transitions.Machine(
        model=model, states=PEER_STATES, transitions=TRANSITIONS_TABLE, initial="requested"
    )
    for event in EVENTS:
        model.trigger(event)  # type: ignore[attr-defined]  # added by the Machine
    return model


# --- the quote ------------------------------------------------------------------------


def bare_price(hours: Decimal) -> Decimal:
    """The same arithmetic as a quote, with nothing around it."""
    counted = max(hours, Decimal(1))
    gross = counted * Decimal("1000.00")
    discount = (gross * Decimal("0.20")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return gross - discount


# --- the use cases --------------------------------------------------------------------


def use_case_lives() -> Callable[[], object]:
    """A function living one new order's life through the in-memory use cases each call."""
    clock = ManualClock(AT)
    wiring = bootstrap.in_memory(customers=[CUSTOMER], clock=clock)
    service = wiring.service
    numbers: Iterator[int] = itertools.count()

    def life() -> object:
        return whole_life(
            service, clock, f"o{next(numbers)}", customer_id="c1", target="shop.example"
        )

    return life


def main(argv: Sequence[str] | None = None) -> None:
    bench, results = start("lifecycle", "The lifecycle and the quote", argv)
    assert domain_life().state is State.CLOSED
    assert floor_life().state is State.CLOSED
    bench.compare(
        "one order's whole life (7 transitions), domain",
        calls(domain_life),
        calls(floor_life),
        baseline_name="hand-written attrs floor",
        goal="<= 2.5x",
        number=300,
    )
    bench.compare(
        "python-statemachine driving the same life",
        calls(statemachine_life),
        calls(domain_life),
        baseline_name="our domain life",
        goal=">= 20x (slower than ours)",
        number=100,
    )
    bench.compare(
        "transitions (a Machine per model) driving the same life",
        calls(transitions_life),
        calls(domain_life),
        baseline_name="our domain life",
        goal=">= 5x (slower than ours)",
        number=100,
    )
    hours = parse_hours("2")
    valid = POLICY.quote_valid_for
    bench.compare(
        "a quote (2 h, maintained site)",
        calls(lambda: price(TARIFF, hours, maintained_site=True, issued_at=AT, valid_for=valid)),
        calls(lambda: bare_price(hours)),
        baseline_name="bare Decimal arithmetic",
        goal="<= 2.5x",
        number=5_000,
    )
    bench.compare(
        "the same life through the use cases (in-memory)",
        calls(use_case_lives()),
        calls(domain_life),
        baseline_name="our domain life",
        goal="<= 2x",
        number=100,
    )
    bench.write(results)


if __name__ == "__main__":
    main()
