from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from komtet_works.domain.commands import BillingCommand
from komtet_works.domain.customers import Target
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.events import Event
from komtet_works.domain.intake import ReportedPayment
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports.intake import BillingOutbox, PaymentIntake
from komtet_works.ports.notifications import Message
from komtet_works.ports.outbox import Outbox


def paged(limit: int | None) -> int | None:
    """`limit` as the listings take it: a page of at most `limit` orders (a positive
    integer), or None for all of them; else `InvalidInput`.

    A listing's page is keyset-paginated: ``after`` is the id of the last order of the
    page before (None: from the oldest), so the next page costs what it holds, however
    many orders come before it.  An ``after`` no order has: `UnknownOrder`.
    """
    if limit is None:
        return None
    if type(limit) is not int or limit < 1:  # bool is an int, and no page size
        raise InvalidInput(
            f"a page holds a positive number of orders, not {limit!r}", field="limit"
        )
    return limit


class WorkOrders(Outbox, BillingOutbox, PaymentIntake, Protocol):
    """Where work orders are kept, with optimistic concurrency on `WorkOrder.version`; the
    outboxes of the messages and billing commands their changes owe; and the payments
    intake: one unit of work."""

    def get(self, order_id: str) -> WorkOrder:
        """The order as last saved.  Raises `UnknownOrder`."""
        ...

    def history(self, order_id: str) -> Sequence[Event]:
        """Every event of the order, oldest first: its audit trail, read for audit only
        (`get` never reads it): ``WorkOrder.replay(history)`` equals `get`.  Raises
        `UnknownOrder`."""
        ...

    def save(
        self,
        order: WorkOrder,
        *,
        expected_version: int,
        messages: Sequence[Message] = (),
        commands: Sequence[BillingCommand] = (),
        payments: Sequence[ReportedPayment] = (),
    ) -> None:
        """Store `order` if the stored version is still `expected_version` (0: a new order):
        its state, and its events since that version (`WorkOrder.events_since`).

        In the same unit of work, `messages` go to the outbox (see `ports.Outbox`),
        `commands` to the billing outbox and `payments` (applied to this order) to the
        intake: all are kept if and only if the order is.  A message or command whose id
        is already kept is dropped, so a retried save queues nothing twice.
        Raises `ConcurrencyError` and stores nothing when someone saved in between, or
        when one of `payments` was reported meanwhile; raises `TargetBusy` and stores
        nothing when `order` enters a state of `lifecycle.WORKS_UNDER_WAY` while another
        order on its target is in one (rule T1): the store, not a read before the
        write, keeps one order in works per target.
        """
        ...

    def by_customer(
        self, customer_id: str, *, limit: int | None = None, after: str | None = None
    ) -> Sequence[WorkOrder]:
        """The customer's orders, oldest first: all of them, or a page (`paged`)."""
        ...

    def by_state(
        self, *states: State, limit: int | None = None, after: str | None = None
    ) -> Sequence[WorkOrder]:
        """Orders in any of `states`, oldest first: all of them, or a page (`paged`)."""
        ...

    def on_target(self, target: Target, *states: State) -> Sequence[WorkOrder]:
        """Every order on `target` (its kind and name, whoever's customer), in any of
        `states` if some are given, oldest first.  With states it costs what it finds, not
        what the target ever had (starting works asks who else is in works there)."""
        ...

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]:
        """Completed orders whose claim deadline is strictly before `now`, oldest first.

        The closing job's list (`WorkOrderService.close_expired`).
        """
        ...

    def overdue(self, now: datetime) -> Sequence[WorkOrder]:
        """Scheduled or started orders whose announced completion date is before `now`."""
        ...

    def queued_hours(self, *, excluding: str, urgent_only: bool = False) -> Decimal:
        """The staff's queue (rule L4): the billable hours of the current quotes of the
        orders in `domain.scheduling.QUEUED` states, other than `excluding`; with
        `urgent_only`, of those whose urgency is `Urgency.URGENT` (D-URGENCY).

        Summed by the store from what it keeps per order (`scheduling.queued_microhours`,
        whole millionths of an hour), never by loading the queued orders.
        """
        ...
