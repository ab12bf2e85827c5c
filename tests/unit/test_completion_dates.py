"""Completion dates staff give: not nearer than the hours allow (S1), revised while the
works run (S2), and orders past them (S3)."""

from __future__ import annotations

import pendulum
import pytest

from komtet_works import DueTooSoon, InvalidInput, InvalidTransition, bootstrap
from komtet_works.adapters.memory import (
    InMemoryBusinessCalendar,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import CompletionDateFacts, CompletionDateRevisedFacts, Facts
from komtet_works.testing.orders import STAFF, customer_for, in_state
from komtet_works.use_cases import OverdueOrder, OverdueReport, WorkOrderService

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
    at = paid.last_step_at.add(hours=1)
    with pytest.raises(DueTooSoon):
        paid.schedule(by=STAFF, at=at, due=at.add(hours=1), earliest=at.add(hours=2))
    assert (
        at.add(hours=2)
        == paid.schedule(by=STAFF, at=at, due=at.add(hours=2), earliest=at.add(hours=2)).works.due
    )


# --- S2: revising the date while the works run --------------------------------------------


def started(world: World, hours: str = "2") -> WorkOrder:
    """Paid Monday 09:00, due Tuesday 19:00, its works started at 10:00."""
    world.paid(hours=hours)
    world.service.schedule("wo-1", staff_id="sam", due=moscow(3, 19))
    world.clock.set(moscow(2, 10))
    return world.service.start("wo-1", staff_id="sam")


def told(world: World) -> list[Facts]:
    return [message.facts for _, message in world.notifier.sent]


@pytest.mark.rule("S2")
def test_a_revision_while_works_run_keeps_them_running_and_tells_the_customer_why() -> None:
    """In progress, staff move the date with a reason: the state stays, the customer reads
    the new date, the old one and the reason."""
    world = World()
    started(world)
    world.clock.set(moscow(2, 15))
    revised = world.service.schedule(
        "wo-1", staff_id="sam", due=moscow(4, 19), reason="the database is larger"
    )
    assert (State.IN_PROGRESS, moscow(4, 19)) == (revised.state, revised.works.due)
    assert "the database is larger" == revised.new_events[-1].note
    assert (
        CompletionDateRevisedFacts(moscow(4, 19), moscow(3, 19), "the database is larger")
        == told(world)[-1]
    )


@pytest.mark.rule("S2")
@pytest.mark.parametrize("reason", ["", "   "])
def test_once_the_works_have_started_a_revision_needs_a_reason(reason: str) -> None:
    """Without a reason the revision is `invalid_input` on `reason` and changes nothing."""
    world = World()
    before = started(world)
    with pytest.raises(InvalidInput) as refused:
        world.service.schedule("wo-1", staff_id="sam", due=moscow(4, 19), reason=reason)
    assert "reason" == refused.value.field
    assert before == world.orders.get("wo-1")


@pytest.mark.rule("S2")
def test_before_the_works_a_new_date_needs_no_reason_and_is_told_as_revised() -> None:
    """The first date is announced; a second one, before the start, is a revision."""
    world = World()
    world.paid()
    world.service.schedule("wo-1", staff_id="sam", due=moscow(3, 19))
    world.service.schedule("wo-1", staff_id="sam", due=moscow(5, 19))
    assert [
        CompletionDateFacts(moscow(3, 19)),
        CompletionDateRevisedFacts(moscow(5, 19), moscow(3, 19), ""),
    ] == [facts for facts in told(world) if facts.kind.value.startswith("completion_date")]


@pytest.mark.rule("S2")
def test_a_revision_while_works_run_may_take_the_suggested_date() -> None:
    """Without a date of their own, staff revise to the suggestion, from now."""
    world = World()
    started(world)
    world.clock.set(moscow(2, 18))
    revised = world.service.schedule("wo-1", staff_id="sam", reason="waiting for the customer")
    assert (State.IN_PROGRESS, moscow(3, 11)) == (revised.state, revised.works.due)


@pytest.mark.rule("S1", "S2")
def test_once_the_works_run_the_soonest_counts_from_their_start() -> None:
    """Works of 2 h started Monday 10:00: at 11:00 staff may say 12:00, not 11:30."""
    world = World()
    started(world)
    world.clock.set(moscow(2, 11))
    with pytest.raises(DueTooSoon):
        world.service.schedule("wo-1", staff_id="sam", due=moscow(2, 11, 30), reason="ahead")
    revised = world.service.schedule("wo-1", staff_id="sam", due=moscow(2, 12), reason="ahead")
    assert (State.IN_PROGRESS, moscow(2, 12)) == (revised.state, revised.works.due)


@pytest.mark.rule("S2")
def test_no_revision_once_the_works_are_done() -> None:
    """A completed order's date is history: `invalid_transition`."""
    world = World()
    started(world)
    world.clock.set(moscow(2, 12))
    world.service.complete("wo-1", staff_id="sam")
    with pytest.raises(InvalidTransition):
        world.service.schedule("wo-1", staff_id="sam", due=moscow(4, 19), reason="late")


# --- S3: orders past their date ----------------------------------------------------------


@pytest.mark.rule("S3")
def test_orders_scheduled_or_started_past_their_date_are_overdue_until_done() -> None:
    """Listed strictly after the date, whether scheduled or in progress; not once completed,
    not before a date is announced."""
    world = World()
    world.paid("unscheduled")
    started(world)
    world.clock.set(moscow(3, 19))
    assert [] == list(world.service.overdue_orders())
    world.clock.set(moscow(3, 19, 1))
    assert ["wo-1"] == [o.id for o in world.service.overdue_orders()]
    world.service.complete("wo-1", staff_id="sam")
    assert [] == list(world.service.overdue_orders())


@pytest.mark.rule("S3")
def test_the_overdue_job_reports_each_late_order_with_its_date_and_changes_nothing() -> None:
    """The report names the instant it looked at and, per order, its state and due date."""
    world = World()
    world.paid("a")
    world.service.schedule("a", staff_id="sam", due=moscow(2, 19))
    world.paid("b")
    world.service.schedule("b", staff_id="sam", due=moscow(4, 19))
    world.clock.set(moscow(3, 10))
    before = [world.orders.get(i) for i in ("a", "b")]
    report = world.service.report_overdue()
    assert OverdueReport(moscow(3, 10), (OverdueOrder("a", State.SCHEDULED, moscow(2, 19)),)) == (
        report
    )
    assert before == [world.orders.get(i) for i in ("a", "b")]
    world.clock.set(moscow(2, 9))
    assert () == world.service.report_overdue().orders


@pytest.mark.rule("S3")
def test_a_revised_date_takes_the_order_off_the_overdue_list() -> None:
    """Late in progress, a new date with a reason: no longer overdue until it passes."""
    world = World()
    started(world)
    world.clock.set(moscow(4, 10))
    assert ["wo-1"] == [o.order_id for o in world.service.report_overdue().orders]
    world.service.schedule("wo-1", staff_id="sam", due=moscow(5, 19), reason="more pages")
    assert () == world.service.report_overdue().orders
