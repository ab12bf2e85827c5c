"""Rule H1: hours spent are logged while the works run, append-only."""

from __future__ import annotations

from decimal import Decimal

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works.domain import recorded
from komtet_works.domain.errors import ActorNotAllowed, InvalidHours, InvalidTransition
from komtet_works.domain.events import Actor, HoursLogged
from komtet_works.domain.lifecycle import State
from komtet_works.domain.policy import Policy
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import in_state

STAFF = Actor.staff("sam")
#: the default policy: the paid quote is a fixed price, the hours a record (D-OVERRUN)
FIXED = Policy()
HOURS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)


@pytest.mark.rule("H1")
@given(logged=st.lists(HOURS, max_size=8))
def test_the_hours_spent_are_the_sum_of_the_entries_in_the_order_logged(
    logged: list[Decimal],
) -> None:
    order = in_state(State.IN_PROGRESS)
    at = order.last_step_at
    for number, hours in enumerate(logged, start=1):
        order = order.log_hours(
            by=STAFF, at=at.add(minutes=number), hours=hours, policy=FIXED, note="db"
        )
    entries = recorded.time_entries(order.new_events)
    assert [entry.hours for entry in entries] == logged
    assert order.works.spent_hours == sum(logged, Decimal(0))
    assert {entry.logged_by for entry in entries} <= {"sam"}
    assert order == WorkOrder.replay(order.new_events)


@pytest.mark.rule("H1")
def test_logging_hours_leaves_the_order_in_progress_and_records_who_and_when() -> None:
    order = in_state(State.IN_PROGRESS)
    at = order.last_step_at.add(hours=1)
    logged = order.log_hours(by=STAFF, at=at, hours="1.5", policy=FIXED, note="found the cause")
    event = logged.new_events[-1]
    assert isinstance(event, HoursLogged)
    assert (event.hours, event.actor, event.at, event.note) == (
        Decimal("1.5"),
        STAFF,
        at,
        "found the cause",
    )
    assert logged.state is order.state
    assert logged.works.spent_hours == Decimal("1.5")


@pytest.mark.rule("H1")
@pytest.mark.parametrize("hours", ["0", "-1", "NaN", 1.5, "two", "10000.5"])
def test_hours_that_are_not_a_positive_decimal_are_refused(hours: object) -> None:
    order = in_state(State.IN_PROGRESS)
    with pytest.raises(InvalidHours):
        order.log_hours(by=STAFF, at=order.last_step_at, hours=hours, policy=FIXED)  # type: ignore[arg-type]


@pytest.mark.rule("H1")
def test_only_staff_log_hours_and_only_while_the_works_run() -> None:
    order = in_state(State.IN_PROGRESS)
    at = order.last_step_at
    with pytest.raises(ActorNotAllowed):
        order.log_hours(by=Actor.customer(order.customer_id), at=at, hours="1", policy=FIXED)
    done = order.complete(by=STAFF, at=at)
    with pytest.raises(InvalidTransition):
        done.log_hours(by=STAFF, at=at, hours="1", policy=FIXED)


def test_a_refused_log_changes_nothing() -> None:
    order = in_state(State.IN_PROGRESS)
    before = order
    with pytest.raises(InvalidHours):
        order.log_hours(by=STAFF, at=pendulum.now("UTC"), hours="0", policy=FIXED)
    assert order == before
