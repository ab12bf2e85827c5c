"""Commands to the billing system: what an order's change asks billing to do.

A command is committed with the change that owes it (the billing outbox) and carried out
after the commit, so a change that is refused or rolled back asks billing for nothing,
and a committed one is carried out however often the process dies (rule K3).  Each
command's `id` is its idempotency key, built from structured parts (rule K1): carrying a
command out twice does it once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from komtet_works.domain.events import WorksCompleted
from komtet_works.domain.keys import operation_key
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money

if TYPE_CHECKING:
    from komtet_works.domain.work_order import WorkOrder


def refund_key(payment_id: str) -> str:
    """The one idempotency key of refunding payment `payment_id`, for whatever reason.

    A payment id belongs to one order for ever (rule K2), so one key per payment means
    the billing system refunds a payment at most once, system-wide.
    """
    return operation_key("refund", payment_id)


def unused_hours_key(payment_id: str) -> str:
    """The idempotency key of refunding the unused hours of payment `payment_id` (rule H2).

    Distinct from `refund_key`: a payment refunded in part at completion may later be
    refunded the rest (a claim, a failure after rework) under that key.  The unused hours
    are refunded once per payment, at the first completion only.
    """
    return operation_key("refund_unused_hours", payment_id)


def invoice_key(order_id: str, quote_number: int) -> str:
    """The idempotency key of the invoice for the order's `quote_number`-th quote."""
    return operation_key("invoice", order_id, quote_number)


@attrs.frozen
class RequestInvoice:
    """Ask the customer to pay the order's `quote_number`-th quote (rule P5)."""

    order_id: str
    quote_number: int
    amount: Money

    @property
    def id(self) -> str:
        return invoice_key(self.order_id, self.quote_number)


@attrs.frozen
class VoidInvoice:
    """Cancel the invoice of a quote that can no longer be paid (rule K4)."""

    order_id: str
    quote_number: int

    @property
    def id(self) -> str:
        return operation_key("void", self.order_id, self.quote_number)

    @property
    def invoice_id(self) -> str:
        """The command that asked for the invoice voided here."""
        return invoice_key(self.order_id, self.quote_number)


@attrs.frozen
class RefundPayment:
    """Return a payment the rules refused for its order, in full (rule K2)."""

    order_id: str
    payment_id: str
    amount: Money

    @property
    def id(self) -> str:
        return refund_key(self.payment_id)


@attrs.frozen
class RefundUnusedHours:
    """Return `amount` of a payment: the hours paid for but not spent (rule H2)."""

    order_id: str
    payment_id: str
    amount: Money

    @property
    def id(self) -> str:
        return unused_hours_key(self.payment_id)


BillingCommand = RequestInvoice | VoidInvoice | RefundPayment | RefundUnusedHours

#: The commands by the name the stores keep them under.
COMMAND_TYPES: Final[dict[str, type[BillingCommand]]] = {
    "request_invoice": RequestInvoice,
    "void_invoice": VoidInvoice,
    "refund_payment": RefundPayment,
    "refund_unused_hours": RefundUnusedHours,
}


def _open_quote(order: WorkOrder | None) -> int | None:
    """The number of the quote whose invoice is open: the current one of an estimated order,
    or the open supplementary quote of works in progress (rule H4); either is the last."""
    if order is None:
        return None
    if order.state is not State.ESTIMATED and order.ledger.supplementary_quote is None:
        return None
    return len(order.ledger.quotes)


def owed(before: WorkOrder | None, after: WorkOrder) -> tuple[BillingCommand, ...]:
    """The billing commands the change from `before` to `after` owes (rules P5, K4, H2).

    A new quote asks for its invoice; a quote that stops being payable other than by
    being paid (superseded, withdrawn by a supplement, declined, the order withdrawn, a
    supplementary quote left open when the works end) has its invoice voided, before the
    next quote's invoice is asked for; a completion that refunds unused hours asks billing
    for each refund.
    """
    commands: list[BillingCommand] = []
    was_open, now_open = _open_quote(before), _open_quote(after)
    paid = before is not None and len(after.ledger.paid_quotes) > len(before.ledger.paid_quotes)
    if was_open is not None and was_open != now_open and not paid:
        commands.append(VoidInvoice(after.id, was_open))
    issued = len(before.ledger.quotes) if before is not None else 0
    quotes = after.ledger.quotes
    commands.extend(
        RequestInvoice(after.id, number, quote.total)
        for number, quote in enumerate(quotes[issued:], start=issued + 1)
    )
    commands.extend(
        RefundUnusedHours(after.id, refund.payment_id, refund.amount)
        for event in after.events_since(before.version if before is not None else 0)
        if isinstance(event, WorksCompleted)
        for refund in event.unused_refunds
    )
    return tuple(commands)


def lapsed(order: WorkOrder, now: pendulum.DateTime) -> VoidInvoice | None:
    """The void an open quote (of an estimated order, or supplementary) owes once it is past
    its `payable_until`."""
    number = _open_quote(order)
    if number is None or order.ledger.quotes[number - 1].is_payable_at(now):
        return None
    return VoidInvoice(order.id, number)
