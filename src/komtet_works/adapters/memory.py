"""In-memory adapters for every port: real, shipped code, for demos and for hosts' tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import attrs
import pendulum

from komtet_works.domain.commands import BillingCommand
from komtet_works.domain.customers import Customer, Target
from komtet_works.domain.errors import (
    BackupFailed,
    BillingFailed,
    ConcurrencyError,
    NotificationFailed,
    RestoreFailed,
    TargetBusy,
    UnknownOrder,
)
from komtet_works.domain.instants import require_aware
from komtet_works.domain.intake import ConflictingReport, ReportedPayment
from komtet_works.domain.lifecycle import WORKS_UNDER_WAY, State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import (
    Backups,
    Billing,
    BusinessCalendar,
    Clock,
    CustomerDirectory,
    Message,
    Notifier,
    Outbox,
    WorkOrders,
)
from komtet_works.ports.billing import (
    BillingLedger,
    Invoice,
    ReceivedPayment,
    RefundReceipt,
    check_refund,
)
from komtet_works.ports.intake import BillingOutbox, PaymentIntake
from komtet_works.ports.outbox import Claimed, DeadLetter, Delivery


class ManualClock(Clock):
    """A clock that stands still until it is moved: `set` or `advance`."""

    def __init__(self, now: pendulum.DateTime) -> None:
        self._now = require_aware(now, field="now")

    def now(self) -> pendulum.DateTime:
        return self._now

    def set(self, now: pendulum.DateTime) -> None:
        self._now = require_aware(now, field="now")

    def advance(self, by: timedelta) -> None:
        self._now = self._now + by


@attrs.define
class _Tries:
    """The relay's bookkeeping of one message of the in-memory outbox."""

    attempts: int = 0
    retry_at: datetime | None = None
    claimed_until: datetime | None = None
    error: str = ""
    dead_at: datetime | None = None


class InMemoryWorkOrders(WorkOrders, Outbox, BillingOutbox, PaymentIntake):
    """Orders in a dict.  Orders are immutable, so the dict holds them as they were saved.

    Also the outboxes (messages with when they were sent, billing commands with their
    results) and the payments intake.  What is pending is kept apart, in the order it came
    (and, for commands, per order too), so reading it costs what is pending, not what was
    ever sent or done.
    """

    def __init__(self) -> None:
        self._orders: dict[str, WorkOrder] = {}
        self._messages: dict[str, Message] = {}
        self._sent: dict[str, pendulum.DateTime] = {}
        self._unsent: dict[str, Message] = {}
        self._tries: dict[str, _Tries] = {}
        self._undone: dict[str, BillingCommand] = {}
        self._undone_of: dict[str, dict[str, BillingCommand]] = {}
        self._commands: dict[str, BillingCommand] = {}
        self._results: dict[str, str] = {}
        self._payments: dict[str, ReportedPayment] = {}
        self._conflicts: list[ConflictingReport] = []
        #: the order whose works are under way on each busy target (rule T1)
        self._busy: dict[Target, str] = {}

    def get(self, order_id: str) -> WorkOrder:
        try:
            return self._orders[order_id]
        except KeyError:
            raise UnknownOrder(f"no work order {order_id!r}") from None

    def save(
        self,
        order: WorkOrder,
        *,
        expected_version: int,
        messages: Sequence[Message] = (),
        commands: Sequence[BillingCommand] = (),
        payments: Sequence[ReportedPayment] = (),
    ) -> None:
        stored = self._orders.get(order.id)
        version = 0 if stored is None else stored.version
        if version != expected_version:
            raise ConcurrencyError(
                f"order {order.id!r} is at version {version}, not {expected_version}"
            )
        self._check_unreported(payments)
        holder = self._busy.get(order.target)
        under_way = order.state in WORKS_UNDER_WAY
        if under_way and holder not in (None, order.id):
            raise TargetBusy(f"the works of another order on {order.target} are in progress")
        self._orders[order.id] = order
        if under_way:
            self._busy[order.target] = order.id
        elif holder == order.id:
            del self._busy[order.target]
        for message in messages:
            if message.id not in self._messages:
                self._messages[message.id] = self._unsent[message.id] = message
                self._tries[message.id] = _Tries()
        self.enqueue(commands)
        self._payments.update((p.id, p) for p in payments)

    def _check_unreported(self, payments: Sequence[ReportedPayment]) -> None:
        for payment in payments:
            if payment.id in self._payments:
                raise ConcurrencyError(f"payment {payment.id!r} was reported meanwhile")

    def _waiting(self) -> list[Message]:
        return [m for m in self._unsent.values() if self._tries[m.id].dead_at is None]

    def pending(self, limit: int = 100) -> Sequence[Message]:
        return self._waiting()[:limit]

    def claim(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta,
        order_id: str | None = None,
    ) -> Claimed:
        now = require_aware(now, field="now")
        heads: dict[str, Message] = {}
        for message in self._waiting():
            heads.setdefault(message.order_id, message)
        due = [
            m
            for m in heads.values()
            if order_id in (None, m.order_id)
            and all(
                at is None or at <= now
                for at in (self._tries[m.id].retry_at, self._tries[m.id].claimed_until)
            )
        ][:limit]
        for message in due:
            self._tries[message.id].claimed_until = now + lease
        return Claimed([Delivery(m, self._tries[m.id].attempts) for m in due])

    def failed(
        self, message_id: str, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        tries = self._tries.get(message_id)
        if tries is None or message_id in self._sent or tries.dead_at is not None:
            return
        tries.attempts += 1
        tries.error, tries.retry_at, tries.claimed_until = error, retry_at, None
        if retry_at is None:
            tries.dead_at = require_aware(at, field="at")

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        return [
            DeadLetter(m.id, m.order_id, m.kind.value, tries.attempts, tries.error, tries.dead_at)
            for m in self._messages.values()
            if m.id not in self._sent and (tries := self._tries[m.id]).dead_at is not None
        ][:limit]

    def requeue(self, message_ids: Sequence[str]) -> Sequence[str]:
        dead = {letter.id for letter in self.dead_letters(len(self._messages))}
        requeued = [i for i in dict.fromkeys(message_ids) if i in dead]
        for message_id in requeued:
            self._tries[message_id] = _Tries(error=self._tries[message_id].error)
        return requeued

    def mark_sent(self, message_id: str, sent_at: datetime) -> None:
        if message_id in self._messages:
            self._sent.setdefault(message_id, require_aware(sent_at, field="sent_at"))
            self._unsent.pop(message_id, None)

    def pending_commands(
        self, limit: int = 100, *, order_id: str | None = None
    ) -> Sequence[BillingCommand]:
        undone = self._undone if order_id is None else self._undone_of.get(order_id, {})
        return list(itertools.islice(undone.values(), limit))

    def enqueue(self, commands: Sequence[BillingCommand]) -> None:
        for command in commands:
            key = command.id
            if key not in self._commands:
                self._commands[key] = self._undone[key] = command
                self._undone_of.setdefault(command.order_id, {})[key] = command

    def mark_done(self, command_id: str, result: str) -> None:
        command = self._commands.get(command_id)
        if command is not None:
            self._results.setdefault(command_id, result)
            self._undone.pop(command_id, None)
            self._undone_of.get(command.order_id, {}).pop(command_id, None)

    def command_result(self, command_id: str) -> str | None:
        return self._results.get(command_id)

    def reported(self, payment_id: str) -> ReportedPayment | None:
        return self._payments.get(payment_id)

    def payments(self) -> Sequence[ReportedPayment]:
        return list(self._payments.values())

    def conflicts(self) -> Sequence[ConflictingReport]:
        return list(self._conflicts)

    def record_unapplied(
        self, report: ReportedPayment, *, commands: Sequence[BillingCommand] = ()
    ) -> None:
        self._check_unreported((report,))
        self._payments[report.id] = report
        self.enqueue(commands)

    def record_conflict(self, conflict: ConflictingReport) -> None:
        self._conflicts.append(conflict)

    def record_unapplied_refund(self, payment_id: str, reference: str) -> None:
        report = self._payments.get(payment_id)
        if report is not None and report.refund_reference is None:
            self._payments[payment_id] = attrs.evolve(report, refund_reference=reference)

    def by_customer(self, customer_id: str) -> Sequence[WorkOrder]:
        return [o for o in self._orders.values() if o.customer_id == customer_id]

    def by_state(self, *states: State) -> Sequence[WorkOrder]:
        return [o for o in self._orders.values() if o.state in states]

    def on_target(self, target: Target) -> Sequence[WorkOrder]:
        return [o for o in self._orders.values() if o.target == target]

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]:
        now = require_aware(now, field="now")
        return [
            o
            for o in self.by_state(State.COMPLETED)
            if o.works.claim_deadline is not None and o.works.claim_deadline < now
        ]

    def overdue(self, now: datetime) -> Sequence[WorkOrder]:
        now = require_aware(now, field="now")
        return [
            o
            for o in self.by_state(State.SCHEDULED, State.IN_PROGRESS)
            if o.works.due is not None and o.works.due < now
        ]


class InMemoryCustomerDirectory(CustomerDirectory):
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._customers = {c.id: c for c in customers}

    def find(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    def put(self, customer: Customer) -> None:
        """Add a customer or replace what is known of them (a subscription ended, say)."""
        self._customers[customer.id] = customer


class InMemoryBilling(Billing, BillingLedger):
    """Keeps invoices, payments and refunds; idempotent per key, like a real billing system
    must be.

    `receive` stands for a customer paying; the host then reports the payment to the
    service.  Set `failing = True` to make the next calls raise `BillingFailed`.
    """

    def __init__(self) -> None:
        self.invoices: dict[str, Invoice] = {}
        self.voided: dict[str, str] = {}
        self.received: dict[str, ReceivedPayment] = {}
        self.refunded: dict[str, RefundReceipt] = {}
        self.failing = False

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        self._check()
        invoice = Invoice(f"inv-{len(self.invoices) + 1}", order_id, amount)
        return _once(self.invoices, idempotency_key, invoice).reference

    def void_invoice(self, *, invoice: str, idempotency_key: str) -> None:
        self._check()
        if invoice not in {i.reference for i in self.invoices.values()}:
            raise BillingFailed(f"no invoice {invoice!r} to void")
        if self.voided.setdefault(idempotency_key, invoice) != invoice:
            raise BillingFailed(f"idempotency key {idempotency_key!r} voided another invoice")

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        self._check()
        if idempotency_key not in self.refunded:  # a refund in part, or the rest (rule I4)
            earlier = [r.amount for r in self.refunded.values() if r.payment_id == payment_id]
            check_refund(self.received.get(payment_id), earlier, amount)
        receipt = RefundReceipt(f"rf-{len(self.refunded) + 1}", payment_id, amount)
        return _once(self.refunded, idempotency_key, receipt).reference

    def receive(self, *, payment_id: str, order_id: str, amount: Money) -> ReceivedPayment:
        """A customer pays `amount` for `order_id`; billing names the payment `payment_id`."""
        payment = ReceivedPayment(payment_id, order_id, amount)
        kept = self.received.setdefault(payment_id, payment)
        if kept != payment:
            raise BillingFailed(f"payment {payment_id!r} was made before for other facts")
        return kept

    def payments(self) -> Sequence[ReceivedPayment]:
        return list(self.received.values())

    def refunds(self) -> Sequence[RefundReceipt]:
        return list(self.refunded.values())

    def _check(self) -> None:
        if self.failing:
            raise BillingFailed("the billing system is unavailable")


_Entry = TypeVar("_Entry", Invoice, RefundReceipt)


def _once(entries: dict[str, _Entry], key: str, fresh: _Entry) -> _Entry:
    """The entry kept under `key`; asking again for something else under it is refused."""
    kept = entries.setdefault(key, fresh)
    if attrs.astuple(kept)[1:] != attrs.astuple(fresh)[1:]:
        raise BillingFailed(f"idempotency key {key!r} was used before for another entry")
    return kept


class InMemoryBackups(Backups):
    """Backups as copies of a dict standing for each target's data.

    `data` maps a target name to whatever the test says its content is; `restore` puts
    the snapshot back.  `failing_snapshots` / `failing_restores` simulate failures.
    """

    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.snapshots: dict[str, tuple[str, object]] = {}
        #: the customer each backup was taken for
        self.owners: dict[str, str] = {}
        self.restored: list[str] = []
        self.failing_snapshots = False
        self.failing_restores = False

    def snapshot(self, target: Target, *, order_id: str, customer_id: str) -> str:
        if self.failing_snapshots:
            raise BackupFailed(f"could not back up {target}")
        reference = f"bk-{order_id}-{len(self.snapshots) + 1}"
        self.snapshots[reference] = (target.name, copy.deepcopy(self.data.get(target.name)))
        self.owners[reference] = customer_id
        return reference

    def verify(self, reference: str) -> bool:
        return reference in self.snapshots

    def restore(self, reference: str, *, customer_id: str) -> None:
        if self.failing_restores or reference not in self.snapshots:
            raise RestoreFailed(f"could not restore {reference!r}")
        if self.owners[reference] != customer_id:
            raise RestoreFailed(f"backup {reference!r} was taken for another customer")
        name, content = self.snapshots[reference]
        self.data[name] = copy.deepcopy(content)
        self.restored.append(reference)


class InMemoryNotifier(Notifier):
    """Records messages; the send time is the provider's clock.

    Set `failing = True` to make the next sends raise `NotificationFailed`.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.sent: list[tuple[datetime, Message]] = []
        self.failing = False

    def send(self, message: Message) -> datetime:
        if self.failing:
            raise NotificationFailed("the mail server is unavailable")
        at = self._clock.now()
        self.sent.append((at, message))
        return at


class InMemoryBusinessCalendar(BusinessCalendar):
    """Working hours per weekday, plus dated exceptions (holidays, transferred working days).

    `weekly` maps ISO weekday (1 = Monday) to (start, end); `exceptions` maps a date to
    its hours or None for a day off; exceptions win.
    """

    def __init__(
        self,
        *,
        timezone: str = "Europe/Moscow",
        weekly: Mapping[int, tuple[time, time]] | None = None,
        exceptions: Mapping[date, tuple[time, time] | None] | None = None,
    ) -> None:
        office = (time(10), time(19))
        self._timezone = timezone
        self._weekly = dict(weekly) if weekly is not None else dict.fromkeys(range(1, 6), office)
        self._exceptions = dict(exceptions or {})

    @property
    def timezone(self) -> str:
        return self._timezone

    def working_hours(self, day: date) -> tuple[time, time] | None:
        if day in self._exceptions:
            return self._exceptions[day]
        return self._weekly.get(day.isoweekday())
