"""A host's own Clock, Notifier and Billing, written as an integrator would: the standard
library's types only, no pendulum, no subclassing of the ports.

`make typecheck` checks this module with mypy --strict against the ports;
tests/host/test_host_types.py runs it, and checks that floats are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from komtet_works import BillingFailed, Customer, Money, WorkOrder, WorkOrderService
from komtet_works.adapters import (
    InMemoryBackups,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryWorkOrders,
)
from komtet_works.ports import Billing, Clock, Message, Notifier

MOSCOW = ZoneInfo("Europe/Moscow")


class HostClock:
    """The host's clock: `datetime.now` in the provider's zone (a zoneinfo zone)."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class HostNotifier:
    """The host's mail queue: keeps what it was given, sent at the host's own instant."""

    def __init__(self) -> None:
        self.queued: list[Message] = []

    def send(self, message: Message) -> datetime:
        self.queued.append(message)
        return datetime.now(UTC)


class HostBilling:
    """The host's billing system: one invoice, void or refund per idempotency key."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str, Money]] = {}
        self.voided: dict[str, str] = {}

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        return self._once(idempotency_key, "invoice", order_id, amount)

    def void_invoice(self, *, invoice: str, idempotency_key: str) -> None:
        if self.voided.setdefault(idempotency_key, invoice) != invoice:
            raise BillingFailed(f"key {idempotency_key!r} voided another invoice")

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        return self._once(idempotency_key, "refund", payment_id, amount)

    def _once(self, key: str, kind: str, owner: str, amount: Money) -> str:
        reference, *asked = self.entries.setdefault(
            key, (f"{kind}-{len(self.entries) + 1}", owner, amount)
        )
        if (owner, amount) != tuple(asked):
            raise BillingFailed(f"key {key!r} was used for another {kind}")
        return reference


# The ports are Protocols: the host's classes satisfy them by their shape alone.
CLOCK: type[Clock] = HostClock
NOTIFIER: type[Notifier] = HostNotifier
BILLING: type[Billing] = HostBilling


def host_service(
    clock: HostClock, notifier: HostNotifier, billing: HostBilling
) -> WorkOrderService:
    """The service wired with the host's adapters (the rest in memory)."""
    customer = Customer("alice", sites=frozenset({"alice.example"}))
    return WorkOrderService(
        orders=InMemoryWorkOrders(),
        customers=InMemoryCustomerDirectory([customer]),
        billing=billing,
        backups=InMemoryBackups(),
        notifier=notifier,
        clock=clock,
        calendar=InMemoryBusinessCalendar(),
    )


def paid_order(service: WorkOrderService) -> WorkOrder:
    """An order estimated in decimal text and paid in a Decimal, as a host passes them."""
    service.request(order_id="wo-1", customer_id="alice", target="alice.example", problem="500s")
    quote = service.estimate("wo-1", staff_id="staff-1", hours="2.5").ledger.quotes[-1]
    return service.record_payment("wo-1", payment_id="pay-1", amount=quote.total.amount)
