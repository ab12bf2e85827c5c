"""The outbox relays: what the outboxes hold goes out, at least once, after its commit.

`relay` sends the messages through the notifier; `relay_billing` carries out the billing
commands (invoices, voids, refunds of unapplied payments) through the billing port.
"""

from __future__ import annotations

import logging
from typing import Protocol

from komtet_works.domain.commands import BillingCommand, RefundPayment, RequestInvoice
from komtet_works.ports import Billing, Message, Notifier, Outbox
from komtet_works.ports.intake import BillingOutbox, PaymentIntake

log = logging.getLogger(__name__)


def relay(outbox: Outbox, notifier: Notifier, *, batch: int = 100) -> int:
    """Send every pending message and mark it sent; return how many were sent.

    A message is marked sent only after the notifier took it, so a crash in between
    sends it again on the next run, with the same id for the receiver to drop.  A
    `NotificationFailed` stops the run with that message still pending.
    """
    sent = 0
    while messages := outbox.pending(batch):
        for message in messages:
            deliver(outbox, notifier, message)
            sent += 1
    return sent


def deliver(outbox: Outbox, notifier: Notifier, message: Message) -> None:
    """Send one message of the outbox, then mark it sent (never the other way round)."""
    outbox.mark_sent(message.id, notifier.send(message))
    log.debug("message %s (%s) sent", message.id, message.kind.value)


class BillingStore(BillingOutbox, PaymentIntake, Protocol):
    """What carrying out billing commands needs of a store: the billing outbox and intake."""


def relay_billing(store: BillingStore, billing: Billing, *, batch: int = 1000) -> int:
    """Carry out the pending billing commands, oldest first; return how many were done.

    A command that fails stays pending, and so do the later commands of its order (an
    order's void waits for the invoice it voids); other orders' commands go on.  Billing
    is idempotent per command id, so a command done but not marked done before a crash is
    done once, however often it is carried out again.
    """
    done = 0
    blocked: set[str] = set()
    for command in store.pending_commands(batch):
        if command.order_id in blocked:
            continue
        try:
            carry_out(store, billing, command)
        except Exception as error:  # noqa: BLE001 - one failure must not block the others
            blocked.add(command.order_id)
            log.warning(
                "billing command %s of order %s failed (%s); it stays pending",
                type(command).__name__,
                command.order_id,
                type(error).__name__,
            )
        else:
            done += 1
    return done


def carry_out(store: BillingStore, billing: Billing, command: BillingCommand) -> None:
    """Carry out one billing command, then mark it done (never the other way round)."""
    if isinstance(command, RequestInvoice):
        result = billing.request_payment(
            order_id=command.order_id, amount=command.amount, idempotency_key=command.id
        )
    elif isinstance(command, RefundPayment):
        result = billing.refund(
            payment_id=command.payment_id, amount=command.amount, idempotency_key=command.id
        )
        store.record_unapplied_refund(command.payment_id, result)
    else:  # the order's commands run in order, so the invoice was asked for before
        result = store.command_result(command.invoice_id) or ""
        if result:  # else an invoice never queued (a store older than the billing outbox)
            billing.void_invoice(invoice=result, idempotency_key=command.id)
    store.mark_done(command.id, result)
    log.debug("billing command %s of order %s done", type(command).__name__, command.order_id)
