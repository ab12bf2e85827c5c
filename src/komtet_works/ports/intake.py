from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from komtet_works.domain.commands import BillingCommand
from komtet_works.domain.intake import ConflictingReport, ReportedPayment


class PaymentIntake(Protocol):
    """Every payment the billing system reported, once per payment id (rule K2).

    A payment applied to an order is kept by `WorkOrders.save(..., payments=...)`, in the
    order's unit of work; the methods here keep what changes no order.
    """

    def reported(self, payment_id: str) -> ReportedPayment | None:
        """The first report of `payment_id`, or None when it was never reported."""
        ...

    def payments(self) -> Sequence[ReportedPayment]:
        """Every reported payment, applied or not, oldest first."""
        ...

    def conflicts(self) -> Sequence[ConflictingReport]:
        """Every conflicting report, oldest first."""
        ...

    def record_unapplied(
        self, report: ReportedPayment, *, commands: Sequence[BillingCommand] = ()
    ) -> None:
        """Keep a payment the rules refused, with the commands it owes, in one unit of work.

        Raises `ConcurrencyError` and keeps nothing when its id was reported meanwhile.
        """
        ...

    def record_conflict(self, conflict: ConflictingReport) -> None:
        """Keep a conflicting report for staff."""
        ...

    def record_unapplied_refund(self, payment_id: str, reference: str) -> None:
        """The unapplied payment `payment_id` was refunded with receipt `reference`."""
        ...


class BillingOutbox(Protocol):
    """Billing commands saved with the change that owes them, until carried out (rule K3)."""

    def pending_commands(
        self, limit: int = 100, *, order_id: str | None = None
    ) -> Sequence[BillingCommand]:
        """Up to `limit` commands not yet carried out (of `order_id` only, if given),
        oldest first."""
        ...

    def enqueue(self, commands: Sequence[BillingCommand]) -> None:
        """Queue commands that no order change carries (the void of a lapsed quote).

        A command whose id is already queued is dropped.
        """
        ...

    def mark_done(self, command_id: str, result: str) -> None:
        """Record that `command_id` was carried out; `result` is billing's reference."""
        ...

    def command_result(self, command_id: str) -> str | None:
        """The reference a command carried out gave; None while it is pending, or for a
        command never queued."""
        ...
