"""The application layer: each use case loads an order, applies the domain, saves it with
the version it loaded, and talks to the outside world through the ports.

Side effects that an external system may see twice (refunds, invoices, messages) carry
idempotency keys built from structured parts (`domain.keys`), so a use case retried after
a failure or a `ConcurrencyError` asks for nothing twice.  Invoices and their voids, and
refunds of payments the rules refuse, are billing commands committed with the change that
owes them and carried out after the commit (the billing outbox, `relay.relay_billing`).

A refund is two commits: the intent (`refunding` / `cancelling`) is saved against the
loaded version first, so a concurrent writer wins or loses before any money moves; then
the refunds and the restore are made and the settlement is saved.  An order left pending
(billing down, the process killed) is settled by calling the use case again, or
`settle_refunds`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NoReturn, TypeVar

import attrs
import pendulum

from komtet_works._logging import logger
from komtet_works.domain.commands import RefundPayment, lapsed, owed, refund_key
from komtet_works.domain.customers import Customer, TargetKind
from komtet_works.domain.errors import (
    AmountMismatch,
    ConcurrencyError,
    EligibilityError,
    InvalidInput,
    KomtetWorksError,
    NotCustomerTarget,
    OrderExists,
    PaymentBelongsToAnotherOrder,
    PaymentConflict,
    RestoreFailed,
    RuleViolation,
    TargetBusy,
    UnknownCustomer,
    UnknownOrder,
    refusal,
)
from komtet_works.domain.events import Actor, WorksCompleted
from komtet_works.domain.instants import require_aware
from komtet_works.domain.intake import ConflictingReport, ReportedPayment
from komtet_works.domain.keys import operation_key
from komtet_works.domain.ledger import Payment, Refund
from komtet_works.domain.lifecycle import BEFORE_THE_WORKS, WORKS_UNDER_WAY, Action, State
from komtet_works.domain.money import ExactNumber, Money
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.domain.pricing import Tariff
from komtet_works.domain.scheduling import finish_after, staff_capacity, suggest_due
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import (
    Backup,
    ClaimOutcome,
    ClaimRemedy,
    RestoreWithheldReason,
    Urgency,
    WithdrawalReason,
)
from komtet_works.ports import (
    Backups,
    Billing,
    BusinessCalendar,
    ClaimDecidedFacts,
    Clock,
    CompletionDateFacts,
    CompletionDateRevisedFacts,
    CustomerDirectory,
    Facts,
    Message,
    MessageKind,
    Notifier,
    PaymentReceivedFacts,
    QuoteIssuedFacts,
    RefundedFacts,
    RestoreWithheldFacts,
    SupplementaryQuoteFacts,
    WithdrawnFacts,
    WorkOrders,
    WorksCompletedFacts,
    WorksStartingFacts,
)
from komtet_works.relay import carry_out, relay

log = logger(__name__)

#: The billing system, which reports payments.
BILLING = Actor.system("billing")
#: The job that closes orders whose claim window has ended.
CLOSING_JOB = Actor.system("closing-job")
#: Who records the send time of a completion notice: the use case or the relay job.
NOTICE_RECORDER = Actor.system("notifier")
#: How often a send time is recorded again over steps saved meanwhile by someone else.
_NOTICE_RECORD_TRIES = 3
#: Who settles a refund once the billing system has made it.
REFUNDS = Actor.system("refunds")


@attrs.frozen
class WithheldRestore:
    """Why a settlement makes no restore, and the later order in the way (rule T3)."""

    reason: RestoreWithheldReason
    order: str = ""


@attrs.frozen
class ClosingReport:
    """One run of the closing job: the orders it closed, and those refused with the code why."""

    closed: tuple[str, ...] = ()
    refused: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class OverdueOrder:
    """An order past its completion date (rule S3): where it stands and the date it owes."""

    order_id: str
    state: State
    due: pendulum.DateTime


@attrs.frozen
class OverdueReport:
    """One run of the overdue job: when it looked, and the orders past their date then,
    oldest first."""

    at: pendulum.DateTime
    orders: tuple[OverdueOrder, ...] = ()


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
        capacity: int = 1,
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
        #: how many staff work the queue in parallel (D-CAPACITY)
        self.capacity = staff_capacity(capacity)

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
        before: WorkOrder | None,
        tell: Facts | None = None,
        payments: tuple[ReportedPayment, ...] = (),
    ) -> None:
        """Commit the change from `before` (None: a new order) to `order` and, in the same
        unit of work, the message (its facts) it owes its customer, the billing commands
        it owes (`domain.commands.owed`) and the `payments` it applied; then carry out the
        commands and deliver the message.

        What happens after the commit is not the step: any error there leaves the command
        or the message in its outbox for the relay jobs (`komtet_works.relay`), and is
        logged by its class only (messages of outside systems can carry personal data).
        """
        messages: tuple[Message, ...] = ()
        if tell is not None:
            messages = (
                Message(
                    id=_message_id(order.id, order.version, tell.kind),
                    order_id=order.id,
                    customer_id=order.customer_id,
                    facts=tell,
                ),
            )
        commands = owed(before, order)
        self.orders.save(
            order,
            expected_version=0 if before is None else before.version,
            messages=messages,
            commands=commands,
            payments=payments,
        )
        step = type(order.new_events[-1]).__name__ if order.new_events else "unchanged"
        log.info("order %s v%d: %s", order.id, order.version, step)
        self._after_commit(order.id)
        if messages:  # sent now unless an earlier message of the order still waits
            try:
                relay(
                    self.orders,
                    self.notifier,
                    clock=self.clock,
                    order_id=order.id,
                    after_sent=self.record_notice_sent,
                )
            except Exception as error:  # noqa: BLE001 - committed already; the relay job retries
                log.warning(
                    "order %s: its messages stay in the outbox for the relay job (%s)",
                    order.id,
                    type(error).__name__,
                )

    def _after_commit(self, order_id: str) -> None:
        """Carry out the order's committed billing commands, oldest first (a void after the
        invoice it voids); the first failure leaves it and the later ones in the billing
        outbox for `relay.relay_billing`."""
        for command in self.orders.pending_commands(order_id=order_id):
            try:
                carry_out(self.orders, self.billing, command)
            except Exception as error:  # noqa: BLE001 - committed already; the relay job retries
                log.warning(
                    "order %s: billing command %s stays in the outbox for the relay job (%s)",
                    order_id,
                    type(command).__name__,
                    type(error).__name__,
                )
                return

    def _change(
        self,
        order_id: str,
        step: Callable[[WorkOrder, datetime], WorkOrder],
        tell: Callable[[WorkOrder], Facts] | None = None,
    ) -> WorkOrder:
        """Load, apply one domain step at the clock's now, save against the loaded version."""
        order = self.orders.get(order_id)
        changed = step(order, self.clock.now())
        if changed is not order:
            self._save(changed, before=order, tell=None if tell is None else tell(changed))
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
                    idempotency_key=refund_key(due.payment_id),
                ),
            )
            for due in order.ledger.refunds_due()
        )

    def _restore(self, order: WorkOrder) -> tuple[bool | None, WithheldRestore | None]:
        """Restore the start-of-works backup, unless it must be withheld (rules T2, T3);
        a failed restore is recorded, not raised.

        The refund has gone out by then and must stay on record (decision D-RESTORE).  A
        cancellation has no works to undo: None.
        """
        if order.state in BEFORE_THE_WORKS:
            return None, None
        backup = order.works.backup
        if backup is None:
            return False, None
        if not self._still_owned(order):
            return False, WithheldRestore(RestoreWithheldReason.NOT_CUSTOMER_TARGET)
        later = [
            other.id
            for other in self.orders.on_target(order.target)
            if other.id != order.id
            and other.works.started_at is not None
            and other.works.started_at > backup.taken_at
        ]
        if later:
            return False, WithheldRestore(RestoreWithheldReason.RESTORE_CONFLICT, later[-1])
        return self._restored(order, backup), None

    def _restored(self, order: WorkOrder, backup: Backup) -> bool:
        try:
            self.backups.restore(backup.reference, customer_id=order.customer_id)
        except RestoreFailed:
            return False
        return True

    def _still_owned(self, order: WorkOrder) -> bool:
        """Whether the directory, now, still gives the order's target to its customer."""
        customer = self.customers.find(order.customer_id)
        if customer is None:
            return False
        try:
            return customer.target(order.target.name) == order.target
        except NotCustomerTarget:
            return False

    # --- use cases ------------------------------------------------------------------------

    def request(
        self,
        *,
        order_id: str,
        customer_id: str,
        target: str,
        problem: str,
        hosting_fault: bool = False,
        target_kind: TargetKind | str | None = None,
    ) -> WorkOrder:
        """A customer describes a problem on one of their sites or servers; `target_kind`
        (site or server) says which where the customer has both of one name (rule E4)."""
        kind = None if target_kind is None else _member(TargetKind, target_kind, "target_kind")
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
            target_kind=kind,
        )
        self._save(order, before=None)
        return order

    def supplement(self, order_id: str, *, customer_id: str, text: str) -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(order_id, lambda o, now: o.supplement(by=by, at=now, text=text))

    def estimate(self, order_id: str, *, staff_id: str, hours: ExactNumber) -> WorkOrder:
        """Staff estimate the hours; the customer gets the quote and an invoice for it.

        Of works in progress, under the supplementary-estimate policy, the quote is a
        supplementary one, and the customer is told why: the hours spent and paid for (H4).
        """
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        # before the directory: the spec's order of checks
        order.check(Action.ESTIMATE, by, now, policy=self.policy)
        estimated = order.estimate(
            by=by,
            at=now,
            hours=hours,
            tariff=self.tariff,
            customer=self._customer(order.customer_id),
            policy=self.policy,
        )
        quote = estimated.ledger.quotes[-1]
        why = (
            SupplementaryQuoteFacts(order.works.spent_hours, order.ledger.paid_hours)
            if order.state is State.IN_PROGRESS
            else None
        )
        self._save(
            estimated,
            before=order,
            tell=QuoteIssuedFacts(quote, supplementary=why),
        )
        return estimated

    def decline(self, order_id: str, *, customer_id: str, note: str = "") -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(order_id, lambda o, now: o.decline(by=by, at=now, note=note))

    def record_payment(
        self, order_id: str, *, payment_id: str, amount: ExactNumber, currency: str | None = None
    ) -> WorkOrder:
        """The billing system reports a payment: recorded once, by its id (rule K2).

        `currency` is the one the billing system reports, by default the order's.  A
        payment the rules refuse for its order (another amount or currency, no current
        quote, an order that takes no payment, an unknown order) is kept unapplied and,
        under the default policy, refunded in full at once (D-UNAPPLIED); the refusal is
        then raised.  An id that paid another order, or reported with another amount, is
        kept as a conflict for staff and refused; neither order changes.  The same report
        again changes nothing: it returns the order, or raises the same refusal.
        """
        try:
            order: WorkOrder | None = self.orders.get(order_id)
        except UnknownOrder:
            order = None
        now = self.clock.now()
        if currency is None:
            currency = order.ledger.currency if order is not None else Money.zero().currency
        payment = Payment(payment_id, Money.of(amount, currency), now)
        if payment.amount.amount <= 0:  # no money came in: nothing to keep or to refund
            raise AmountMismatch(f"a payment of {payment.amount} is no money received")
        first = self.orders.reported(payment.id)
        if first is not None:
            return self._repeated(first, payment, order_id)
        if order is None:
            self._unapplied(payment, order_id, UnknownOrder(f"no work order {order_id!r}"))
        try:
            paid = order.pay(
                by=BILLING,
                at=now,
                payment=payment,
                policy=self.policy,
                tariff=self.tariff,
                customer=self._customer(order.customer_id),
            )
        except (RuleViolation, EligibilityError) as refused:  # the money stays on record
            self._unapplied(payment, order_id, refused)
        if paid is not order:
            self._save(
                paid,
                before=order,
                tell=PaymentReceivedFacts(payment.amount, payment.received_at),
                payments=(ReportedPayment(payment, order_id),),
            )
        return paid

    def _repeated(self, first: ReportedPayment, payment: Payment, order_id: str) -> WorkOrder:
        """A payment id reported before: the same report again, or a conflict."""
        if first.repeats(payment, order_id):
            if first.refused is not None:
                raise refusal(first.refused, f"payment {payment.id!r} was refused before")
            return self.orders.get(order_id)
        conflict: KomtetWorksError
        if first.order_id != order_id:
            conflict = PaymentBelongsToAnotherOrder(
                f"payment {payment.id!r} belongs to another order"
            )
        else:
            conflict = PaymentConflict(
                f"payment {payment.id!r} was reported before as {first.payment.amount}, "
                f"now as {payment.amount}"
            )
        self.orders.record_conflict(ConflictingReport(payment, order_id, conflict.code))
        log.warning("payment report conflicts with an earlier one (%s)", conflict.code)
        raise conflict

    def _unapplied(self, payment: Payment, order_id: str, refused: KomtetWorksError) -> NoReturn:
        """Keep a payment the rules refused and, by policy, refund it; then raise why."""
        commands = (
            (RefundPayment(order_id, payment.id, payment.amount),)
            if self.policy.refund_unapplied
            else ()
        )
        self.orders.record_unapplied(
            ReportedPayment(payment, order_id, refused=refused.code), commands=commands
        )
        log.warning("payment held unapplied (%s)", refused.code)
        self._after_commit(order_id)
        raise refused

    def suggest_completion_date(
        self, order_id: str, *, urgency: Urgency | str | None = None
    ) -> pendulum.DateTime:
        """When the works can be done: the staff's queue (shared by `capacity` staff; of
        the urgent orders only for an urgent one) plus this order, in working hours.
        `urgency` None: the order's own (normal until staff say otherwise)."""
        order = self.orders.get(order_id)
        return self._suggest(order, self.clock.now(), self._urgency(order, urgency))

    def _urgency(self, order: WorkOrder, urgency: Urgency | str | None) -> Urgency:
        return order.works.urgency if urgency is None else _member(Urgency, urgency, "urgency")

    def _own_hours(self, order: WorkOrder) -> Decimal:
        """The order's own work: its current quote's billable hours, else the minimum term."""
        quote = order.ledger.current_quote
        return quote.billable_hours if quote is not None else self.tariff.minimum_hours

    def _suggest(self, order: WorkOrder, now: datetime, urgency: Urgency) -> pendulum.DateTime:
        own = self._own_hours(order)
        queue = self.orders.queued_hours(excluding=order.id, urgent_only=urgency is Urgency.URGENT)
        return suggest_due(
            require_aware(now, field="now"),
            own=own,
            queue=queue,
            capacity=self.capacity,
            zone=self.calendar.timezone,
            working_hours=self.calendar.working_hours,
        )

    def _earliest(self, order: WorkOrder, now: datetime) -> pendulum.DateTime:
        """Rule S1: the soonest the order's billable hours of working time can end, the
        queue not counted: from now, or from the start once the works are under way."""
        started = order.works.started_at if order.state in WORKS_UNDER_WAY else None
        return finish_after(
            require_aware(now, field="now") if started is None else started,
            self._own_hours(order),
            zone=self.calendar.timezone,
            working_hours=self.calendar.working_hours,
        )

    def schedule(
        self,
        order_id: str,
        *,
        staff_id: str,
        due: datetime | None = None,
        urgency: Urgency | str | None = None,
        reason: str = "",
    ) -> WorkOrder:
        """Staff announce the completion date: theirs, or the suggested one; and the
        order's urgency (D-URGENCY; None: as it was).

        Again while the order is scheduled or its works run, it revises the date (rule S2;
        with a `reason` once the works have started) and the customer is told the new
        date, the one it replaces and why.
        """
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.check(Action.SCHEDULE, by, now)  # before the calendar: the spec's order of checks
        judged = self._urgency(order, urgency)
        earliest = None
        if due is None:
            when = self._suggest(order, now, judged)
        else:
            when = require_aware(due, field="due")
            if when > now:  # a date not in the future is refused before the calendar is read
                earliest = self._earliest(order, now)
        scheduled = order.schedule(
            by=by, at=now, due=when, urgency=judged, earliest=earliest, reason=reason
        )
        previous = order.works.due
        self._save(
            scheduled,
            before=order,
            tell=CompletionDateFacts(when)
            if previous is None
            else CompletionDateRevisedFacts(when, previous, reason),
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
        self._save(cancelling, before=order)
        return self._settle(cancelling)

    def withdraw(
        self, order_id: str, *, staff_id: str, reason: WithdrawalReason | str, note: str = ""
    ) -> WorkOrder:
        """Staff end an order before the works start (rule W1): every payment is refunded.

        Called again on an order left `withdrawing`, it completes the refund.
        """
        by = Actor.staff(staff_id)
        why = _member(WithdrawalReason, reason, "reason")
        order = self.orders.get(order_id)
        if order.state is State.WITHDRAWING:
            return self._settle(order)
        withdrawn = order.withdraw(by=by, at=self.clock.now(), reason=why, note=note)
        self._save(
            withdrawn,
            before=order,
            tell=WithdrawnFacts(why, handed_to_support=why.goes_to_free_support),
        )
        return self._settle(withdrawn) if withdrawn.state is State.WITHDRAWING else withdrawn

    def start(self, order_id: str, *, staff_id: str) -> WorkOrder:
        """Works begin: a verified backup first, then the customer is told to hold still.

        Refused before any backup when the target is no longer the customer's (rule T2:
        staff then withdraw the order, which refunds it) or while another order's works
        on it are in progress (rule T1; the store refuses the save too, so two staff
        starting at once cannot both win).
        """
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.check(Action.START, by, now)
        if not self._still_owned(order):
            raise NotCustomerTarget(
                f"{order.target} is no longer a site or server of customer "
                f"{order.customer_id!r}: nothing was backed up; withdraw the order "
                f"(reason {WithdrawalReason.OTHER.value}) to refund it"
            )
        busy = [
            o.id for o in self.orders.on_target(order.target, *WORKS_UNDER_WAY) if o.id != order.id
        ]
        if busy:
            raise TargetBusy(f"the works of order {busy[0]!r} on {order.target} are in progress")
        reference = self.backups.snapshot(
            order.target, order_id=order.id, customer_id=order.customer_id
        )
        backup = Backup(reference, now, self.backups.verify(reference))
        started = order.start(by=by, at=now, backup=backup)
        self._save(
            started,
            before=order,
            tell=WorksStartingFacts(backup.taken_at, started.works.due),
        )
        return started

    def record_customer_change(
        self, order_id: str, *, customer_id: str, note: str = ""
    ) -> WorkOrder:
        by = Actor.customer(customer_id)
        return self._change(
            order_id, lambda o, now: o.record_customer_change(by=by, at=now, note=note)
        )

    def log_hours(
        self, order_id: str, *, staff_id: str, hours: ExactNumber, note: str = ""
    ) -> WorkOrder:
        """Staff log hours spent on the works while they run (rule H1); past the hours paid
        for, under the supplementary-estimate policy, only once a supplement is paid (H3)."""
        by = Actor.staff(staff_id)
        return self._change(
            order_id,
            lambda o, now: o.log_hours(by=by, at=now, hours=hours, policy=self.policy, note=note),
        )

    def complete(self, order_id: str, *, staff_id: str) -> WorkOrder:
        """Staff complete the works; the claim window opens when the completion notice is
        sent (rule C1), by the provider's clock (decision D-CLOCK).  Under
        `SpentHours.REFUND_UNUSED` the first completion refunds the unused hours (rule H2):
        the refunds are billing commands committed with it, carried out after the commit.

        The notice is committed with the order in one unit of work and delivered from the
        outbox, so it is never lost and never sent for a completion that rolled back.  The
        order returned has its window if the notice went out at once; if mail is down, the
        relay records the send time later.
        """
        by = Actor.staff(staff_id)
        self._change(
            order_id,
            lambda o, now: o.complete(by=by, at=now, policy=self.policy, tariff=self.tariff),
            lambda o: WorksCompletedFacts.of(
                o.works, self.policy, unused_refund=self._unused_refund(o)
            ),
        )
        return self.orders.get(order_id)

    def _unused_refund(self, completed: WorkOrder) -> Money | None:
        """What the completion just recorded refunds for unused hours (rule H2), asked of
        billing through the outbox after its commit; None when the policy refunds none."""
        if self.policy.spent_hours is not SpentHours.REFUND_UNUSED:
            return None
        event = completed.new_events[-1]
        refunds = event.unused_refunds if isinstance(event, WorksCompleted) else ()
        return sum((refund.amount for refund in refunds), Money.zero(completed.ledger.currency))

    def record_notice_sent(self, message: Message, sent_at: datetime) -> None:
        """The relay's `after_sent` hook: record the send time of a completion notice on its
        order, which opens the claim window (rule C1).

        Tolerant and idempotent: any other message, the notice of an earlier completion,
        and a notice already recorded change nothing.  A step saved meanwhile by someone
        else is read again and the send time recorded on top of it.
        """
        if message.kind is not MessageKind.WORKS_COMPLETED:
            return
        for _ in range(_NOTICE_RECORD_TRIES - 1):
            try:
                self._record_notice(message, sent_at)
            except ConcurrencyError:
                continue
            return
        self._record_notice(message, sent_at)

    def _record_notice(self, message: Message, sent_at: datetime) -> None:
        order = self.orders.get(message.order_id)
        completed_at = order.works.completed_at
        if order.works.notice_sent_at is not None or message.id != _completion_notice_id(order):
            return
        # a notifier whose clock is behind the provider's cannot date the notice before
        # the works it announces: the window then counts from the completion
        sent = max(require_aware(sent_at, field="sent_at"), completed_at or sent_at)
        self._save(
            order.record_notice_sent(
                by=NOTICE_RECORDER, at=self.clock.now(), sent_at=sent, policy=self.policy
            ),
            before=order,
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
        self._save(failed, before=order)
        return self._settle(failed)

    def file_claim(
        self,
        order_id: str,
        *,
        customer_id: str,
        text: str,
        remedy: ClaimRemedy | str = ClaimRemedy.REFUND,
    ) -> WorkOrder:
        """The customer files a claim, asking for a refund or for rework; the time is the
        provider's receipt time."""
        by = Actor.customer(customer_id)
        wanted = _member(ClaimRemedy, remedy, "remedy")
        return self._change(
            order_id,
            lambda o, now: o.claim(by=by, at=now, text=text, policy=self.policy, remedy=wanted),
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
        resolved = order.resolve_claim(
            by=by, at=self.clock.now(), outcome=outcome, policy=self.policy, note=note
        )
        self._save(
            resolved,
            before=order,
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
        refunds = self._refund_all(order)  # the money first (rule L8), then the restore
        restored, withheld = self._restore(order)
        settled = order.settle_refunds(by=REFUNDS, at=now, refunds=refunds, restored=restored)
        tell: Facts = RefundedFacts(settled.ledger.refunded, settled.works.restored)
        if withheld is not None:
            settled = settled.withhold_restore(
                by=REFUNDS, at=now, reason=withheld.reason, conflicting_order=withheld.order
            )
            tell = RestoreWithheldFacts(settled.ledger.refunded, withheld.reason)
        self._save(settled, before=order, tell=tell)
        return settled

    def decide_restore(
        self, order_id: str, *, staff_id: str, restore: bool, note: str = ""
    ) -> WorkOrder:
        """Rule T3: staff decide a withheld restore: restore anyway (an override,
        recorded with whether it worked) or leave the later works in place."""
        by = Actor.staff(staff_id)
        order = self.orders.get(order_id)
        now = self.clock.now()
        order.decide_restore(by=by, at=now, restore=restore, restored=False)  # the checks
        backup = order.works.backup
        restored = restore and backup is not None and self._restored(order, backup)
        decided = order.decide_restore(by=by, at=now, restore=restore, restored=restored, note=note)
        self._save(decided, before=order)
        return decided

    def close(self, order_id: str, *, staff_id: str) -> WorkOrder:
        """Staff close an order whose claim window has ended."""
        by = Actor.staff(staff_id)
        return self._change(order_id, lambda o, now: o.close(by=by, at=now))

    def close_expired(self) -> ClosingReport:
        """The closing job (`CLOSING_JOB`): close every order whose claim window has ended.

        Run it as often as you like (cron, a task queue): an order closes once, and one
        refused (changed by someone else meanwhile) neither stops the others nor is lost:
        it is in the report, and the next run tries it again if it is still due.
        """
        closed: list[str] = []
        refused: dict[str, str] = {}
        for due in self.orders.claim_window_ended(self.clock.now()):
            try:
                self._change(due.id, lambda o, now: o.close(by=CLOSING_JOB, at=now))
            except KomtetWorksError as error:
                refused[due.id] = error.code
            else:
                closed.append(due.id)
        return ClosingReport(tuple(closed), refused)

    def overdue_orders(self) -> Sequence[WorkOrder]:
        """Rule S3: the orders scheduled or in progress whose completion date has passed,
        oldest first (the store's index-backed query)."""
        return self.orders.overdue(require_aware(self.clock.now(), field="now"))

    def report_overdue(self) -> OverdueReport:
        """The overdue job: which orders are past their date now, for staff to act on
        (revise the date, rule S2, or finish).  It changes nothing; run it as often as
        you like (cron, a task queue)."""
        now = require_aware(self.clock.now(), field="now")
        found = tuple(
            OverdueOrder(order.id, order.state, order.works.due)
            for order in self.orders.overdue(now)
            if order.works.due is not None
        )
        if found:
            log.warning("%d orders are past their completion date", len(found))
        return OverdueReport(now, found)

    def void_lapsed_invoices(self) -> int:
        """The job that voids the invoices of quotes past their `payable_until` (rule K4),
        supplementary ones of works in progress included (H4); returns how many voids it
        queued.  Safe to run at any time and as often as wanted."""
        now = require_aware(self.clock.now(), field="now")
        commands = tuple(
            void
            for order in self.orders.by_state(State.ESTIMATED, State.IN_PROGRESS)
            if (void := lapsed(order, now)) is not None
            and self.orders.command_result(void.id) is None
        )
        self.orders.enqueue(commands)
        for command in commands:
            self._after_commit(command.order_id)
        return len(commands)


def _completion_notice_id(order: WorkOrder) -> str:
    """The id of the message the order's latest completion owes ("" if it has none)."""
    version = order.works.completed_version
    return "" if version is None else _message_id(order.id, version, MessageKind.WORKS_COMPLETED)


def _message_id(order_id: str, version: int, kind: MessageKind) -> str:
    """The id of the message of `kind` the order's step making `version` owes."""
    return operation_key("message", order_id, version, kind.value)


_Member = TypeVar("_Member", bound=enum.Enum)


def _member(kind: type[_Member], value: _Member | str, field: str) -> _Member:
    """`value` as a member of `kind` (a member, or its value); else `InvalidInput`."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in kind)
        raise InvalidInput(
            f"unknown {field.replace('_', ' ')} {value!r}; one of {known}", field=field
        ) from None
