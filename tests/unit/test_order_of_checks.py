"""Use cases check the step itself before its inputs, in the order docs/spec.md gives."""

from __future__ import annotations

from datetime import datetime

import pendulum
import pytest

from komtet_works import Customer, InvalidTransition, State, WorkOrderService
from komtet_works.adapters import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)

CUSTOMER = Customer("c1", sites=frozenset({"shop.example"}))


def declined_order() -> tuple[WorkOrderService, InMemoryCustomerDirectory]:
    clock = ManualClock(pendulum.datetime(2026, 3, 2, 7, tz="UTC"))
    customers = InMemoryCustomerDirectory([CUSTOMER])
    service = WorkOrderService(
        orders=InMemoryWorkOrders(),
        customers=customers,
        billing=InMemoryBilling(),
        backups=InMemoryBackups(),
        notifier=InMemoryNotifier(clock),
        clock=clock,
        calendar=InMemoryBusinessCalendar(weekly={}),  # nobody ever works: no suggestion
    )
    service.request(order_id="o1", customer_id="c1", target="shop.example", problem="x")
    service.estimate("o1", staff_id="s1", hours="1")
    assert State.DECLINED is service.decline("o1", customer_id="c1").state
    return service, customers


@pytest.mark.rule("L10", "L4")
def test_scheduling_a_declined_order_is_an_invalid_transition_whatever_the_date() -> None:
    """A naive due date, or a calendar without room, does not mask `invalid_transition`."""
    service, _ = declined_order()
    naive = datetime(2026, 3, 9, 12)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(InvalidTransition):
        service.schedule("o1", staff_id="s1", due=naive)
    with pytest.raises(InvalidTransition):
        service.schedule("o1", staff_id="s1")


@pytest.mark.rule("L10", "L2")
def test_estimating_a_declined_order_is_an_invalid_transition_even_for_a_gone_customer() -> None:
    """The table is checked before the customer directory is asked."""
    service, customers = declined_order()
    customers._customers.clear()  # the customer left the hosting since
    with pytest.raises(InvalidTransition):
        service.estimate("o1", staff_id="s1", hours="2")
