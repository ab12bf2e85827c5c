"""The outbox relays: what the outboxes hold goes out, at least once, after its commit.

`relay` sends the messages through the notifier, retrying those that fail by its
`RelayPolicy` while the others go on; `relay_billing` carries out the billing commands
(invoices, voids, refunds of unapplied payments and of unused hours) through the billing
port.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

import attrs

from komtet_works._logging import logger
from komtet_works.domain.commands import (
    BillingCommand,
    RefundPayment,
    RefundUnusedHours,
    RequestInvoice,
)
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.instants import exact_after, require_aware
from komtet_works.ports import Billing, Clock, Message, Notifier, Outbox
from komtet_works.ports.intake import BillingOutbox, PaymentIntake
from komtet_works.ports.outbox import Delivery

log = logger(__name__)

#: What is called after a message went out and was marked sent: the message, and when.
AfterSent = Callable[[Message, datetime], None]

#: The longest error text kept with a message.
_LONGEST_ERROR: Final = 300
#: An e-mail address (a server's refusal names the recipient): never kept, never logged.
_ADDRESS: Final = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 1:
        raise InvalidInput(
            f"relay policy {attribute.name} must be at least 1", field=attribute.name
        )


def _positive(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidInput(f"relay policy {attribute.name} must be positive", field=attribute.name)


@attrs.frozen
class RelayPolicy:
    """How the relay retries a message that fails (decision D-RELAY-RETRIES).

    The n-th failed try is followed by a wait of `first_retry` doubled n - 1 times, at
    most `longest_retry`; after `max_attempts` failed tries the message is parked as dead.
    The defaults try 10 times over about four hours.  A claim keeps the other relay
    workers off its messages for `lease`: far longer than any send may take.
    """

    max_attempts: int = attrs.field(default=10, validator=_at_least_one)
    first_retry: timedelta = attrs.field(default=timedelta(minutes=1), validator=_positive)
    longest_retry: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    lease: timedelta = attrs.field(default=timedelta(minutes=10), validator=_positive)

    def retry_at(self, attempts: int, at: datetime) -> datetime | None:
        """When to try again after the `attempts`-th failed try at `at`; None: park it."""
        if attempts >= self.max_attempts:
            return None
        return at + min(self.first_retry * (1 << min(attempts - 1, 32)), self.longest_retry)


#: The policy of a relay given none (a RelayPolicy validates its fields when built).
_DEFAULT_POLICY: Final = RelayPolicy()


def relay(
    outbox: Outbox,
    notifier: Notifier,
    *,
    clock: Clock | None = None,
    policy: RelayPolicy | None = None,
    batch: int = 100,
    order_id: str | None = None,
    after_sent: AfterSent | None = None,
) -> int:
    """Send every message due now (of `order_id` only, if given); return how many went out.

    A message is marked sent only after the notifier took it, so a crash in between
    sends it again on the next run, with the same id for the receiver to drop.  A
    message that fails is tried again later, by `policy`, and the others go on; after
    the policy's attempts, or at once if it cannot be read, it is parked as dead and an
    alert logged (ids only).  An order's messages go out in order.  Several relays may
    run at once: each message is claimed by one of them (`Outbox.claim`).
    """
    if clock is None:  # a job run by hand or by cron: the provider's clock is the system's
        from komtet_works.adapters.clock import SystemClock  # noqa: PLC0415 - import cost

        clock = SystemClock()
    policy = policy if policy is not None else _DEFAULT_POLICY
    sent = 0
    while True:
        now = clock.now()
        claimed = outbox.claim(now, limit=batch, lease=policy.lease, order_id=order_id)
        lease_ends = exact_after(require_aware(now, field="now"), policy.lease)
        for message_id in claimed.unreadable:
            log.error("ALERT: message %s cannot be read; parked as dead", message_id)
        if not claimed.deliveries and not claimed.unreadable:
            return sent
        for delivery in claimed.deliveries:
            if clock.now() >= lease_ends:
                break  # the claim has run out: the rest is anyone's again
            message = delivery.message
            try:
                deliver(outbox, notifier, message, after_sent=after_sent)
            except Exception as error:  # noqa: BLE001 - one failure must not block the others
                _failed(outbox, delivery, error, clock=clock, policy=policy)
            else:
                sent += 1


def deliver(
    outbox: Outbox, notifier: Notifier, message: Message, *, after_sent: AfterSent | None = None
) -> None:
    """Send one message of the outbox, then mark it sent (never the other way round), then
    tell `after_sent` (the hook for what must follow a message that went out)."""
    sent_at = notifier.send(message)
    outbox.mark_sent(message.id, sent_at)
    log.debug("message %s (%s) sent", message.id, message.kind.value)
    if after_sent is None:
        return
    try:
        after_sent(message, sent_at)
    except Exception as error:  # noqa: BLE001 - sent and marked: never a failed try, never resent
        log.error(  # noqa: TRY400 - ids and the class only: a traceback may hold personal data
            "ALERT: message %s went out at %s, but what follows it failed (%s)",
            message.id,
            sent_at.isoformat(),
            type(error).__name__,
        )


def _failed(
    outbox: Outbox, delivery: Delivery, error: Exception, *, clock: Clock, policy: RelayPolicy
) -> None:
    """Keep the failed try of a message: tried again later, or parked as dead with an alert."""
    message, attempts = delivery.message, delivery.attempts + 1
    at = clock.now()
    retry_at = policy.retry_at(attempts, at)
    outbox.failed(message.id, at=at, error=described(error, message), retry_at=retry_at)
    if retry_at is None:
        log.error(
            "ALERT: message %s of order %s parked as dead after %d attempts (%s)",
            message.id,
            message.order_id,
            attempts,
            type(error).__name__,
        )
    else:
        log.warning(
            "message %s of order %s failed (attempt %d, %s); tried again at %s",
            message.id,
            message.order_id,
            attempts,
            type(error).__name__,
            retry_at.isoformat(),
        )


def described(error: Exception, message: Message) -> str:
    """`error` as one line kept with `message`: its class and words, with the customer's id
    and any e-mail address taken out, at most 300 characters."""
    words = _ADDRESS.sub("<address>", str(error))
    if message.customer_id:
        words = words.replace(message.customer_id, "<customer>")
    line = " ".join(f"{type(error).__name__}: {words}".split())
    return line[:_LONGEST_ERROR]


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
    elif isinstance(command, RefundUnusedHours):  # on the order's ledger since its commit
        result = billing.refund(
            payment_id=command.payment_id, amount=command.amount, idempotency_key=command.id
        )
    else:  # the order's commands run in order, so the invoice was asked for before
        result = store.command_result(command.invoice_id) or ""
        if result:  # else an invoice never queued (a store older than the billing outbox)
            billing.void_invoice(invoice=result, idempotency_key=command.id)
    store.mark_done(command.id, result)
    log.debug("billing command %s of order %s done", type(command).__name__, command.order_id)
