"""Completion dates staff give: not nearer than the hours allow (S1), revised while the
works run (S2), and orders past them (S3)."""

from __future__ import annotations

import pendulum
import pytest

from komtet_works import DueTooSoon, InvalidInput, bootstrap
from komtet_works.adapters.memory import (
    InMemoryBusinessCalendar,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import STAFF, customer_for, in_state
from komtet_works.use_cases import WorkOrderService

MOSCOW = "Europe/Moscow"
#: Monday 2 March 2026, 09:00 in Moscow: the office opens at 10:00.
MONDAY = pendulum.datetime(2026, 3, 2, 9, tz=MOSCOW)


class World:
    """A service on in-memory adapters, at Monday 09:00, one customer with example.org."""

    def __init__(self) -> None:
        self.clock = ManualClock(MONDAY)
        self.orders = InMemoryWorkOrders()
        self.notifier = InMemoryNotifier(self.clock)
        self.service: WorkOrderService = bootstrap.in_memory(
            customers=[customer_for("cust-1")],
            orders=self.orders,
            notifier=self.notifier,
            clock=self.clock,
            calendar=InMemoryBusinessCalendar(timezone=MOSCOW),
        ).service

    def paid(self, order_id: str = "wo-1", hours: str = "2") -> WorkOrder:
        self.service.request(
            order_id=order_id, customer_id="cust-1", target="example.org", problem="500s"
        )
        quote = self.service.estimate(order_id, staff_id="sam", hours=hours).ledger.current_quote
        assert quote is not None
        return self.service.record_payment(
            order_id, payment_id=f"pay-{order_id}", amount=quote.total.amount
        )


def moscow(day: int, hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 3, day, hour, minute, tz=MOSCOW)


# --- S1: not nearer than the billable hours allow -----------------------------------------


@pytest.mark.rule("S1")
def test_a_date_nearer_than_the_billable_hours_is_refused_and_changes_nothing() -> None:
    """2 h paid at 09:00 Monday: the soonest is 12:00 (the office opens at 10:00)."""
    world = World()
    paid = world.paid(hours="2")
    with pytest.raises(DueTooSoon) as refused:
        world.service.schedule("wo-1", staff_id="sam", due=moscow(2, 11, 59))
    assert "due_too_soon" == refused.value.code
    assert paid == world.orders.get("wo-1")


@pytest.mark.rule("S1")
def test_a_date_exactly_the_billable_hours_later_is_accepted() -> None:
    """The soonest instant itself is a date staff may give."""
    world = World()
    world.paid(hours="2")
    scheduled = world.service.schedule("wo-1", staff_id="sam", due=moscow(2, 12))
    assert (State.SCHEDULED, moscow(2, 12)) == (scheduled.state, scheduled.works.due)


@pytest.mark.rule("S1")
def test_the_queue_does_not_count_for_a_date_of_staffs_own() -> None:
    """40 h queued ahead: staff may still promise this order's 2 h for Monday noon."""
    world = World()
    world.paid("queued", hours="40")
    world.paid("wo-1", hours="2")
    assert (
        moscow(2, 12) == world.service.schedule("wo-1", staff_id="sam", due=moscow(2, 12)).works.due
    )


@pytest.mark.rule("S1", "L4")
def test_a_date_in_the_past_is_still_invalid_input_first() -> None:
    """A date not in the future is `invalid_input`, as before, not `due_too_soon`."""
    world = World()
    world.paid()
    with pytest.raises(InvalidInput):
        world.service.schedule("wo-1", staff_id="sam", due=MONDAY)


@pytest.mark.rule("S1")
def test_the_domain_step_refuses_a_date_before_the_earliest_it_is_given() -> None:
    """The aggregate checks the earliest instant the use case read from the calendar."""
    paid = in_state(State.PAID)
    at = paid.events[-1].at.add(hours=1)
    with pytest.raises(DueTooSoon):
        paid.schedule(by=STAFF, at=at, due=at.add(hours=1), earliest=at.add(hours=2))
    assert (
        at.add(hours=2)
        == paid.schedule(by=STAFF, at=at, due=at.add(hours=2), earliest=at.add(hours=2)).works.due
    )
