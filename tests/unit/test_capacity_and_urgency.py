"""The suggested completion date shares the queue among the staff and puts urgent orders
first (L4, D-CAPACITY, D-URGENCY)."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import CalendarNotCovered, InvalidInput, bootstrap
from komtet_works.adapters.memory import InMemoryBusinessCalendar, InMemoryWorkOrders, ManualClock
from komtet_works.adapters.russian_calendar import RussianBusinessCalendar
from komtet_works.domain.lifecycle import Action
from komtet_works.domain.scheduling import finish_after, staff_capacity, suggest_due
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import Urgency
from komtet_works.testing.orders import STAFF, customer_for, requested, take
from komtet_works.use_cases import WorkOrderService
from strategies import hours, instants

MOSCOW = "Europe/Moscow"
#: Monday 2 March 2026, 09:00 in Moscow: the office opens at 10:00.
MONDAY = pendulum.datetime(2026, 3, 2, 9, tz=MOSCOW)
OFFICE = (time(10), time(19))
START = instants(min_timestamp=1_704_067_200, max_timestamp=1_830_297_600)
QUEUE = hours(min_value=Decimal(0), max_value=Decimal(2_000))
OWN = hours(max_value=Decimal(200))


def office_hours(day: date) -> tuple[time, time] | None:
    return OFFICE if day.isoweekday() <= 5 else None


def suggested(
    start: pendulum.DateTime, own: Decimal, queue: Decimal, capacity: int
) -> pendulum.DateTime:
    return suggest_due(
        start, own=own, queue=queue, capacity=capacity, zone=MOSCOW, working_hours=office_hours
    )


def queued(order_id: str, work: str, urgency: Urgency | None = None) -> WorkOrder:
    """An order paid (and, given an urgency, scheduled with it) on Monday morning."""
    order = requested(order_id, customer_id="cust-1", at=MONDAY.subtract(hours=3))
    for action in (Action.ESTIMATE, Action.PAY):
        order = take(order, action, order.last_step_at + timedelta(minutes=1), hours=work)
    if urgency is not None:
        at = order.last_step_at + timedelta(minutes=1)
        order = order.schedule(by=STAFF, at=at, due=at.add(days=30), urgency=urgency)
    return order


def service(orders: InMemoryWorkOrders, capacity: int = 1) -> WorkOrderService:
    return bootstrap.in_memory(
        customers=[customer_for("cust-1")],
        orders=orders,
        clock=ManualClock(MONDAY),
        calendar=InMemoryBusinessCalendar(timezone=MOSCOW),
        capacity=capacity,
    ).service


def store(*orders: WorkOrder) -> InMemoryWorkOrders:
    kept = InMemoryWorkOrders()
    for order in orders:
        kept.save(order, expected_version=0)
    return kept


# --- examples ---------------------------------------------------------------------------


@pytest.mark.rule("D-CAPACITY")
def test_two_staff_share_the_queue_but_not_the_order() -> None:
    """18 h queued shared by two staff is 9 h (Monday); the 2 h order ends Tuesday at 12:00."""
    orders = store(queued("a", "9"), queued("b", "9"), queued("wo-1", "2"))
    assert pendulum.datetime(2026, 3, 4, 12, tz=MOSCOW) == service(orders).suggest_completion_date(
        "wo-1"
    )
    assert pendulum.datetime(2026, 3, 3, 12, tz=MOSCOW) == service(
        orders, capacity=2
    ).suggest_completion_date("wo-1")


@pytest.mark.rule("D-URGENCY")
def test_an_urgent_order_queues_behind_urgent_orders_only() -> None:
    """9 h normal and 2 h urgent queued: an urgent 1 h order is done at 13:00 on Monday, a
    normal one on Tuesday at 13:00."""
    orders = store(
        queued("normal", "9", Urgency.NORMAL),
        queued("urgent", "2", Urgency.URGENT),
        queued("wo-1", "1"),
    )
    works = service(orders)
    assert pendulum.datetime(2026, 3, 2, 13, tz=MOSCOW) == works.suggest_completion_date(
        "wo-1", urgency=Urgency.URGENT
    )
    assert pendulum.datetime(2026, 3, 3, 13, tz=MOSCOW) == works.suggest_completion_date("wo-1")


@pytest.mark.rule("D-URGENCY")
def test_staff_set_the_urgency_with_the_date_and_it_stays_until_changed() -> None:
    """Scheduling records the urgency (by value too); a new date without one keeps it."""
    orders = store(queued("wo-1", "1"))
    works = service(orders)
    assert Urgency.URGENT is works.schedule("wo-1", staff_id="sam", urgency="urgent").works.urgency
    again = works.schedule("wo-1", staff_id="sam", due=MONDAY.add(days=3))
    assert Urgency.URGENT is again.works.urgency
    assert Urgency.URGENT is WorkOrder.replay(orders.history("wo-1")).works.urgency
    assert 0 == orders.queued_hours(excluding="wo-1", urgent_only=True)
    assert 1 == orders.queued_hours(excluding="", urgent_only=True)


@pytest.mark.rule("D-URGENCY")
def test_an_unknown_urgency_is_invalid_input() -> None:
    """An urgency that is not one of the enum's values is refused naming the field."""
    works = service(store(queued("wo-1", "1")))
    with pytest.raises(InvalidInput) as refused:
        works.schedule("wo-1", staff_id="sam", urgency="asap")
    assert "urgency" == refused.value.field


@pytest.mark.rule("D-CAPACITY")
@pytest.mark.parametrize("capacity", [0, -1, True, 1.5, "2", None])
def test_the_capacity_is_a_whole_number_of_staff(capacity: object) -> None:
    """Anything but an int of at least 1 is `invalid_input` on the `capacity` field."""
    with pytest.raises(InvalidInput) as refused:
        staff_capacity(capacity)
    assert "capacity" == refused.value.field


@pytest.mark.rule("D-CAPACITY")
def test_the_host_sets_the_capacity_when_wiring_the_service() -> None:
    """The composition root passes the host's capacity to the service; 1 by default."""
    assert 1 == service(InMemoryWorkOrders()).capacity
    assert 3 == service(InMemoryWorkOrders(), capacity=3).capacity
    with pytest.raises(InvalidInput):
        service(InMemoryWorkOrders(), capacity=0)


# --- properties -------------------------------------------------------------------------


@pytest.mark.rule("D-CAPACITY")
@given(start=START, own=OWN, queue=QUEUE)
def test_one_person_counts_the_queue_as_it_was(
    start: pendulum.DateTime, own: Decimal, queue: Decimal
) -> None:
    """With the default capacity the suggestion is the queue plus the order, as before."""
    assert finish_after(start, queue + own, zone=MOSCOW, working_hours=office_hours) == suggested(
        start, own, queue, 1
    )


@pytest.mark.rule("D-CAPACITY")
@given(start=START, own=OWN, queue=QUEUE, staff=st.tuples(st.integers(1, 50), st.integers(1, 50)))
def test_more_capacity_is_never_later(
    start: pendulum.DateTime, own: Decimal, queue: Decimal, staff: tuple[int, int]
) -> None:
    """For every queue and order, more staff in parallel never moves the date later."""
    fewer, more = sorted(staff)
    assert suggested(start, own, queue, more) <= suggested(start, own, queue, fewer)


@pytest.mark.rule("L4")
@given(start=START, own=OWN, queues=st.tuples(QUEUE, QUEUE), capacity=st.integers(1, 50))
def test_more_queue_is_never_sooner(
    start: pendulum.DateTime, own: Decimal, queues: tuple[Decimal, Decimal], capacity: int
) -> None:
    """For every capacity, a longer queue never moves the date earlier."""
    shorter, longer = sorted(queues)
    assert suggested(start, own, shorter, capacity) <= suggested(start, own, longer, capacity)


@pytest.mark.rule("D-URGENCY")
@given(
    ahead=st.lists(
        st.tuples(hours(max_value=Decimal(40), places=2), st.sampled_from([*Urgency, None])),
        max_size=8,
    ),
    own=hours(max_value=Decimal(40), places=2),
    capacity=st.integers(1, 4),
)
def test_urgent_is_never_later_than_normal(
    ahead: list[tuple[Decimal, Urgency | None]], own: Decimal, capacity: int
) -> None:
    """Whatever is queued ahead, an urgent order's suggestion is never after a normal one's."""
    orders = store(
        *(queued(f"q-{n}", str(work), urgency) for n, (work, urgency) in enumerate(ahead)),
        queued("wo-1", str(own)),
    )
    works = service(orders, capacity)
    urgent = works.suggest_completion_date("wo-1", urgency=Urgency.URGENT)
    assert urgent <= works.suggest_completion_date("wo-1", urgency=Urgency.NORMAL)


@pytest.mark.rule("L4")
def test_four_thousand_queued_orders_of_two_hours_still_get_a_date() -> None:
    """Issue 8's case: 8,000 h queued is years of working days, a date and not a refusal;
    two staff halve the wait."""
    orders = store(*(queued(f"q-{n}", "2") for n in range(4_000)), queued("wo-1", "2"))
    alone = service(orders).suggest_completion_date("wo-1")
    shared = service(orders, capacity=2).suggest_completion_date("wo-1")
    assert MONDAY < shared < alone
    assert 2029 == alone.year


@pytest.mark.rule("L4", "D-BUSINESS-CALENDAR")
def test_the_russian_calendar_refuses_a_queue_that_runs_past_the_years_it_knows() -> None:
    """Years of queue on the Russian calendar reach 2028, which it does not cover."""
    orders = store(*(queued(f"q-{n}", "2") for n in range(4_000)), queued("wo-1", "2"))
    works = bootstrap.in_memory(
        customers=[customer_for("cust-1")],
        orders=orders,
        clock=ManualClock(MONDAY),
        calendar=RussianBusinessCalendar(),
    ).service
    with pytest.raises(CalendarNotCovered):
        works.suggest_completion_date("wo-1")
