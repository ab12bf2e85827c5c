"""The application layer: each use case loads an order, applies the domain, saves it with
the version it loaded, and talks to the outside world through the ports.

Side effects that an external system may see twice (refunds, invoices, messages) carry
idempotency keys derived from the order, so a use case retried after a failure or a
`ConcurrencyError` asks for nothing twice.

A refund is two commits: the intent (`refunding` / `cancelling`) is saved against the
loaded version first, so a concurrent writer wins or loses before any money moves; then
the refunds and the restore are made and the settlement is saved.  An order left pending
(billing down, the process killed) is settled by calling the use case again, or
`settle_refunds`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pendulum

from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import (
    OrderExists,
    RestoreFailed,
    UnknownCustomer,
    UnknownOrder,
)
from komtet_works.domain.events import Actor
from komtet_works.domain.instants import require_aware
from komtet_works.domain.ledger import Payment, Refund
from komtet_works.domain.lifecycle import Action, State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy
from komtet_works.domain.pricing import Tariff
from komtet_works.domain.scheduling import finish_after
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import Backup, ClaimOutcome
from komtet_works.ports import (
    Backups,
    Billing,
    BusinessCalendar,
    ClaimDecidedFacts,
    Clock,
    CompletionDateFacts,
    CustomerDirectory,
    Facts,
    Message,
    Notifier,
    PaymentReceivedFacts,
    QuoteIssuedFacts,
    RefundedFacts,
    WorkOrders,
    WorksCompletedFacts,
    WorksStartingFacts,
)
from komtet_works.relay import deliver

log = logging.getLogger(__name__)

#: The billing system, which reports payments.
BILLING = Actor.system("billing")
#: The job that closes orders whose claim window has ended.
CLOSING_JOB = Actor.system("closing-job")
#: Who settles a refund once the billing system has made it.
REFUNDS = Actor.system("refunds")

#: States whose orders wait for staff; their hours make up the queue.
QUEUED = (State.PAID, State.SCHEDULED, State.IN_PROGRESS)


class WorkOrderService:
    """Every use case of the Additional Works service, over the ports a host provides."""

    def __init__(
        self,
        *,
        orders: WorkOrders,
        customers: CustomerDirectory,
        billing: Billing,
        backups: Backups,
        notifier: Notifier,
        clock: Clock,
        calendar: BusinessCalendar,
        tariff: Tariff | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.orders = orders
        self.customers = customers
        self.billing = billing
        self.backups = backups
        self.notifier = notifier
        self.clock = clock
        self.calendar = calendar
        self.tariff = tariff if tariff is not None else Tariff()
        self.policy = policy if policy is not None else Policy()

    # --- plumbing -----------------------------------------------------------------------

    def _customer(self, customer_id: str) -> Customer:
        customer = self.customers.find(customer_id)
        if customer is None:
            raise UnknownCustomer(f"{customer_id!r} is not a customer of this hosting")
        return customer

    def _save(
        self,
        order: WorkOrder,
        *,
        expected_version: int,
        tell: Facts | None = None,
    ) -> None:
        """Commit `order` and, in the same unit of work, the message (its facts) it owes
        its customer; then try to deliver that message.

        Delivery failing is not the step failing: the step is committed, so any error after
        the commit leaves the message in the outbox for the relay job
        (`komtet_works.relay.relay`) and is logged by its class only (messages of outside
        systems can carry personal data).
        """
        messages: tuple[Message, ...] = ()
        if tell is not None:
            messages = (
                Message(
                    id=f"{order.id}:{order.version}:{tell.kind.value}",
                    order_id=order.id,
                    customer_id=order.customer_id,
                    facts=tell,
                ),
            )
        self.orders.save(order, expected_version=expected_version, messages=messages)
        log.info("order %s v%d: %s", order.id, order.version, type(order.events[-1]).__name__)
        for message in messages:
            try:
                deliver(self.orders, self.notifier, message)
            except Exception as error:  # noqa: BLE001 - committed already; the relay job retries
                log.warning(
                    "order %s: message %s stays in the outbox for the relay job (%s)",
                    order.id,
                    message.id,
                    type(error).__name__,
                )

    def _change(
        self,
        order_id: str,
        step: Callable[[WorkOrder, pendulum.DateTime], WorkOrder],
        tell: Callable[[WorkOrder], Facts] | None = None,
    ) -> WorkOrder:
        """Load, apply one domain step at the clock's now, save against the loaded version."""
        order = self.orders.get(order_id)
        changed = step(order, self.clock.now())
        if changed is not order:
            self._save(
                changed,
                expected_version=order.version,
                tell=None if tell is None else tell(changed),
            )
        return changed

    def _refund_all(self, order: WorkOrder) -> tuple[Refund, ...]:
        """Refund every payment not yet refunded; safe to repeat (one key per payment)."""
        return tuple(
            Refund(
                due.payment_id,
                due.amount,
                self.billing.refund(
                    payment_id=due.payment_id,
                    amount=due.amount,
                    idempotency_key=f"{order.id}:refund:{due.payment_id}",
                ),
            )
            for due in order.ledger.refunds_due()
        )

    def _restore(self, order: WorkOrder) -> bool | None:
        """Restore the start-of-works backup; a failed restore is recorded, not raised.

        The refund has gone out by then and must stay on record (decision D-RESTORE).  A
        cancellation has no works to undo: None.
        """
        if order.state is State.CANCELLING:
            return None
        backup = order.works.backup
        if backup is None:
            return False
        try:
            self.backups.restore(backup.reference)
        except RestoreFailed:
            return False
        return True

    # --- use cases ------------------------------------------------------------------------

    def request(
        self,
        *,
        order_id: str,
        customer_id: str,
        target: str,
        problem: str,
        hosting_fault: bool = False,
    ) -> WorkOrder:
        """A customer describes a problem on one of their sites or servers."""
        try:
            self.orders.get(order_id)
        except UnknownOrder:
            pass
        else:
            raise OrderExists(f"work order {order_id!r} already exists")
        order = WorkOrder.request(
            order_id=order_id,
            customer=self._customer(customer_id),
            target=target,
            problem=problem,
            at=self.clock.now(),
            hosting_fault=hosting_fault,
        )
        self._save(order, expected_version=0)
        return order

    def supplement(self, order_id: str, *, customer_id: str, text: str) -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(order_id, lambda o, now: o.supplement(by=by, at=now, text=text))

    def estimate(self, order_id: str, *, staff_id: str, hours: object) -> WorkOrder:
        """Staff estimate the hours; the customer gets the quote and an invoice for it."""
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.check(Action.ESTIMATE, by, now)  # before the directory: the spec's order of checks
        estimated = order.estimate(
            by=by,
            at=now,
            hours=hours,
            tariff=self.tariff,
            customer=self._customer(order.customer_id),
            policy=self.policy,
        )
        quote = estimated.ledger.quotes[-1]
        # The invoice first: if billing is down, nothing is saved, and a retry asks for the
        # same invoice (the key names the version the estimate will have).
        self.billing.request_payment(
            order_id=order_id,
            amount=quote.total,
            idempotency_key=f"{order_id}:invoice:{estimated.version}",
        )
        self._save(
            estimated,
            expected_version=order.version,
            tell=QuoteIssuedFacts(quote),
        )
        return estimated

    def decline(self, order_id: str, *, customer_id: str, note: str = "") -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(order_id, lambda o, now: o.decline(by=by, at=now, note=note))

    def record_payment(
        self, order_id: str, *, payment_id: str, amount: object, currency: str | None = None
    ) -> WorkOrder:
        """The billing system reports a payment.  Idempotent per `payment_id`.

        `currency` is the one the billing system reports, by default the order's: money in
        another currency never matches the quote (rule M3), so it is `amount_mismatch`.
        """
        order = self.orders.get(order_id)
        now = self.clock.now()
        money = Money.of(amount, order.ledger.currency if currency is None else currency)
        payment = Payment(payment_id, money, now)
        paid = order.pay(
            by=BILLING,
            at=now,
            payment=payment,
            policy=self.policy,
            tariff=self.tariff,
            customer=self._customer(order.customer_id),
        )
        if paid is not order:
            self._save(
                paid,
                expected_version=order.version,
                tell=PaymentReceivedFacts(money, now),
            )
        return paid

    def suggest_completion_date(self, order_id: str) -> pendulum.DateTime:
        """When the works can be done: the staff's queue plus this order, in working hours."""
        return self._suggest(self.orders.get(order_id), self.clock.now())

    def _suggest(self, order: WorkOrder, now: pendulum.DateTime) -> pendulum.DateTime:
        quote = order.ledger.current_quote
        own = quote.billable_hours if quote is not None else self.tariff.minimum_hours
        queue = sum(
            (
                o.ledger.current_quote.billable_hours
                for o in self.orders.by_state(*QUEUED)
                if o.id != order.id and o.ledger.current_quote is not None
            ),
            Decimal(0),
        )
        return finish_after(
            now, queue + own, zone=self.calendar.timezone, working_hours=self.calendar.working_hours
        )

    def schedule(
        self, order_id: str, *, staff_id: str, due: pendulum.DateTime | None = None
    ) -> WorkOrder:
        """Staff announce the completion date: theirs, or the suggested one."""
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.check(Action.SCHEDULE, by, now)  # before the calendar: the spec's order of checks
        when = require_aware(due, field="due") if due is not None else self._suggest(order, now)
        scheduled = order.schedule(by=by, at=now, due=when)
        self._save(
            scheduled,
            expected_version=order.version,
            tell=CompletionDateFacts(when),
        )
        return scheduled

    def cancel(self, order_id: str, *, customer_id: str) -> WorkOrder:
        """The customer cancels after paying, before works start: everything is refunded.

        Called again on an order left `cancelling`, it completes the refund.
        """
        by = Actor.customer(customer_id)
        order = self.orders.get(order_id)
        if order.state is State.CANCELLING and order.customer_id == customer_id:
            return self._settle(order)
        now = self.clock.now()
        cancelling = order.cancel(by=by, at=now, policy=self.policy)
        self._save(cancelling, expected_version=order.version)
        return self._settle(cancelling)

    def start(self, order_id: str, *, staff_id: str) -> WorkOrder:
        """Works begin: a verified backup first, then the customer is told to hold still."""
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.check(Action.START, by, now)
        reference = self.backups.snapshot(order.target, order_id=order.id)
        backup = Backup(reference, now, self.backups.verify(reference))
        started = order.start(by=by, at=now, backup=backup)
        self._save(
            started,
            expected_version=order.version,
            tell=WorksStartingFacts(now, started.works.due),
        )
        return started

    def record_customer_change(
        self, order_id: str, *, customer_id: str, note: str = ""
    ) -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(
            order_id, lambda o, now: o.record_customer_change(by=by, at=now, note=note)
        )

    def complete(self, order_id: str, *, staff_id: str) -> WorkOrder:
        """Staff send the completion notice; that instant, by the provider's clock, opens
        the claim window (decision D-CLOCK).

        The notice is committed with the order in one unit of work and delivered from the
        outbox, so it is never lost and never sent for a completion that rolled back.
        """
        by = Actor.staff(staff_id)
        return self._change(
            order_id,
            lambda o, now: o.complete(by=by, at=now, notice_sent_at=now, policy=self.policy),
            lambda o: WorksCompletedFacts.of(o.works),
        )

    def report_failure(self, order_id: str, *, staff_id: str, note: str = "") -> WorkOrder:
        """Not solved: refund every payment, then restore the start-of-works backup.

        Called again on an order left `refunding`, it completes the refund.
        """
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        if order.state is State.REFUNDING:
            return self._settle(order)
        failed = order.fail(by=by, at=self.clock.now(), note=note)
        self._save(failed, expected_version=order.version)
        return self._settle(failed)

    def file_claim(self, order_id: str, *, customer_id: str, text: str) -> WorkOrder:
        """The customer files a claim; the time is the provider's receipt time."""
        by = Actor.customer(customer_id)
        return self._change(
            order_id, lambda o, now: o.claim(by=by, at=now, text=text, policy=self.policy)
        )

    def resolve_claim(
        self, order_id: str, *, staff_id: str, outcome: ClaimOutcome, note: str = ""
    ) -> WorkOrder:
        """Staff decide a claim: refund and restore, reject, or rework.

        Called again with REFUND on an order left `refunding`, it completes the refund.
        """
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        if outcome is ClaimOutcome.REFUND and order.state is State.REFUNDING:
            return self._settle(order)
        resolved = order.resolve_claim(by=by, at=self.clock.now(), outcome=outcome, note=note)
        self._save(
            resolved,
            expected_version=order.version,
            tell=ClaimDecidedFacts(outcome, note),
        )
        return self._settle(resolved) if outcome is ClaimOutcome.REFUND else resolved

    def settle_refunds(self, order_id: str) -> WorkOrder:
        """Complete the refund of an order left `refunding` or `cancelling`."""
        return self._settle(self.orders.get(order_id))

    def _settle(self, order: WorkOrder) -> WorkOrder:
        """Refund every payment not yet refunded, restore the backup, record both.

        Safe to repeat: the refunds carry one key per payment, and the settlement is saved
        against the version that holds the intent.
        """
        now = self.clock.now()
        order.check(Action.SETTLE_REFUND, REFUNDS, now)
        settled = order.settle_refunds(
            by=REFUNDS, at=now, refunds=self._refund_all(order), restored=self._restore(order)
        )
        self._save(
            settled,
            expected_version=order.version,
            tell=RefundedFacts(settled.ledger.refunded, settled.works.restored),
        )
        return settled

    def close(self, order_id: str, *, by: Actor) -> WorkOrder:
        """Close an order whose claim window has ended (staff, or the closing job)."""
        return self._change(order_id, lambda o, now: o.close(by=by, at=now))
