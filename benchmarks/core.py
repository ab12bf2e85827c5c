"""Benchmarks of the domain core, each against a baseline measured in the same run.

    python benchmarks/core.py

Prints microseconds per call and the ratio to the baseline; the budgets are the design
targets of the project guide (a quote within 3x bare Decimal arithmetic, a transition
within 3.3 us ~ 2x a hand-written attrs transition, the import within 10 ms of importing
attrs + pendulum).  Nothing here asserts: speed is reported, not tested.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import attrs
import pendulum

from komtet_works import (
    Actor,
    Customer,
    Money,
    Payment,
    Policy,
    State,
    Tariff,
    WorkOrder,
    parse_hours,
    price,
)

AT = pendulum.datetime(2026, 3, 2, 7, tz="UTC")  # as the SystemClock gives it
VALID = timedelta(days=7)
TARIFF = Tariff()
POLICY = Policy()
CUSTOMER = Customer(
    "c1", sites=frozenset({"shop.example"}), maintained_sites=frozenset({"shop.example"})
)


def per_call_us(function: Callable[[], object], *, number: int = 20_000, repeat: int = 7) -> float:
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def bare_price(hours: Decimal) -> Decimal:
    """The same arithmetic as a quote, with nothing around it."""
    counted = max(hours, Decimal(1))
    gross = counted * Decimal("1000.00")
    discount = (gross * Decimal("0.20")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return gross - discount


@attrs.frozen
class HandWrittenOrder:
    """The baseline transition: a small frozen attrs order and an event, written by hand."""

    id: str
    state: State
    paid: Decimal
    events: tuple[object, ...]


@attrs.frozen
class HandWrittenEvent:
    order_id: str
    at: pendulum.DateTime
    amount: Decimal


def hand_written_pay(order: HandWrittenOrder, amount: Decimal) -> HandWrittenOrder:
    if order.state is not State.ESTIMATED:
        raise ValueError(order.state)
    event = HandWrittenEvent(order.id, AT, amount)
    return HandWrittenOrder(order.id, State.PAID, order.paid + amount, (*order.events, event))


def import_ms(modules: str) -> float:
    """Median wall time of a fresh interpreter importing `modules`, minus a bare start."""

    def run(code: str) -> float:
        samples = []
        for _ in range(7):
            start = timeit.default_timer()
            subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own interpreter
            samples.append(timeit.default_timer() - start)
        return statistics.median(samples) * 1000

    return run(f"import {modules}") - run("pass")


def report(name: str, measured: float, baseline: float, budget: str) -> None:
    print(
        f"{name:<34} {measured:8.2f} us   baseline {baseline:6.2f} us   "
        f"ratio {measured / baseline:4.2f}   budget {budget}"
    )


def main() -> None:
    hours = parse_hours("2")
    report(
        "quote (2 h, maintained site)",
        per_call_us(
            lambda: price(TARIFF, hours, maintained_site=True, issued_at=AT, valid_for=VALID)
        ),
        per_call_us(lambda: bare_price(hours)),
        "<= 3x",
    )

    order = WorkOrder.request(
        order_id="o1", customer=CUSTOMER, target="shop.example", problem="module fails", at=AT
    ).estimate(
        by=Actor.staff("s1"), at=AT, hours="2", tariff=TARIFF, customer=CUSTOMER, policy=POLICY
    )
    payment = Payment("p1", Money.of("1600.00"), AT)
    billing = Actor.system("billing")
    baseline_order = HandWrittenOrder("o1", State.ESTIMATED, Decimal(0), ())
    amount = Decimal("1600.00")
    pay = per_call_us(
        lambda: order.pay(
            by=billing, at=AT, payment=payment, policy=POLICY, tariff=TARIFF, customer=CUSTOMER
        )
    )
    report(
        "transition (pay)",
        pay,
        per_call_us(lambda: hand_written_pay(baseline_order, amount)),
        "<= 3.3 us",
    )
    deps = import_ms("attrs, pendulum")
    ours = import_ms("komtet_works")
    print(
        f"{'import komtet_works':<34} {ours:8.1f} ms   attrs + pendulum {deps:6.1f} ms   "
        f"difference {ours - deps:5.1f} ms   budget <= 10 ms"
    )


if __name__ == "__main__":
    main()
