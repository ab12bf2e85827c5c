"""A billing system that fails on purpose, and the checks of the money proofs (issue 7).

`FaultyBilling` wraps a shipped ledger (`InMemoryBilling`, `SqlBilling`) and, per call,
lets a plan choose a `Fault`: refuse before doing anything, do the work and lose the answer
(a timeout or a `BillingFailed` after the ledger recorded it), or do the work and let the
process die (`ProcessDied`, a `BaseException` no use case catches).  `money_differences`
is what the tests assert empty: reconciliation and the counts the ledger must keep.
"""

from __future__ import annotations

import enum
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

import pendulum

from komtet_works import Customer, bootstrap
from komtet_works.adapters.memory import InMemoryBilling, ManualClock
from komtet_works.adapters.sql.stores import SqlBilling
from komtet_works.bootstrap import Wiring
from komtet_works.domain.commands import invoice_key
from komtet_works.domain.errors import BillingFailed
from komtet_works.domain.events import EstimateIssued, Event, PaymentReceived, WorksCompleted
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy
from komtet_works.ports import Billing, WorkOrders
from komtet_works.ports.billing import BillingLedger, Invoice, ReceivedPayment, RefundReceipt
from komtet_works.reconciliation import reconcile

ALICE: Final = Customer("alice", sites=frozenset({"alice.ru"}))
#: A Monday, an hour before the office opens (10:00-19:00 Moscow time).
MONDAY_9AM: Final = pendulum.datetime(2025, 3, 3, 9, tz="Europe/Moscow")
#: The library's policy, which most runs keep.
DEFAULTS: Final = Policy()
#: The states in which every payment of an order has been refunded.
SETTLED: Final = frozenset({State.CANCELLED, State.WITHDRAWN, State.REFUNDED})

_T = TypeVar("_T")
Ledger = InMemoryBilling | SqlBilling


class ProcessDied(BaseException):
    """The process ends right after billing did the work: nothing after the call runs."""


class Fault(enum.Enum):
    """What goes wrong with one billing call."""

    #: billing refuses before doing anything (an outage)
    FAIL = "fail"
    #: billing does the work, then the answer never comes
    TIMEOUT = "timeout"
    #: billing does the work, then the client reports a failure
    LOST = "lost"
    #: billing does the work, then the process is killed
    DIE = "die"


#: Which fault, if any, one call of `kind` (invoice, void, refund) meets.
Plan = Callable[[str], Fault | None]


def no_faults(kind: str) -> Fault | None:
    return None


class FaultyBilling(Billing, BillingLedger):
    """A shipped ledger behind calls that fail as `plan` says; `failing` is an outage."""

    def __init__(self, inner: Ledger, plan: Plan = no_faults) -> None:
        self.inner = inner
        self.plan = plan
        self.failing = False
        self.calls: Counter[str] = Counter()
        self.faults: Counter[Fault] = Counter()

    def _call(self, kind: str, work: Callable[[], _T]) -> _T:
        self.calls[kind] += 1
        fault = Fault.FAIL if self.failing else self.plan(kind)
        if fault is not None:
            self.faults[fault] += 1
        if fault is Fault.FAIL:
            raise BillingFailed("the billing system is unavailable")
        result = work()
        if fault is Fault.TIMEOUT:
            raise TimeoutError(f"billing did not answer the {kind} in time")
        if fault is Fault.LOST:
            raise BillingFailed(f"the answer to the {kind} was lost")
        if fault is Fault.DIE:
            raise ProcessDied(kind)
        return result

    def request_payment(self, *, order_id: str, amount: Money, idempotency_key: str) -> str:
        return self._call(
            "invoice",
            lambda: self.inner.request_payment(
                order_id=order_id, amount=amount, idempotency_key=idempotency_key
            ),
        )

    def void_invoice(self, *, invoice: str, idempotency_key: str) -> None:
        self._call(
            "void",
            lambda: self.inner.void_invoice(invoice=invoice, idempotency_key=idempotency_key),
        )

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> str:
        return self._call(
            "refund",
            lambda: self.inner.refund(
                payment_id=payment_id, amount=amount, idempotency_key=idempotency_key
            ),
        )

    def receive(self, *, payment_id: str, order_id: str, amount: Money) -> ReceivedPayment:
        """A customer pays in billing (never faulty: the customer's side of billing)."""
        return self.inner.receive(payment_id=payment_id, order_id=order_id, amount=amount)

    def payments(self) -> Sequence[ReceivedPayment]:
        return self.inner.payments()

    def refunds(self) -> Sequence[RefundReceipt]:
        return self.inner.refunds()

    def invoices(self) -> Sequence[Invoice]:
        if isinstance(self.inner, InMemoryBilling):
            return list(self.inner.invoices.values())
        return self.inner.invoices()

    def voided(self) -> Sequence[str]:
        """The invoices voided, one entry per void billing did."""
        if isinstance(self.inner, InMemoryBilling):
            return list(self.inner.voided.values())
        return self.inner.voided()


#: Where a process keeps its orders: "memory", a SQLite file, or a PostgreSQL DSN (any other text).
Where = str | Path


def wire(
    where: Where, clock: ManualClock, plan: Plan = no_faults, *, policy: Policy = DEFAULTS
) -> tuple[Wiring, FaultyBilling]:
    """A process's service on `where`, its billing behind `FaultyBilling`; the schema
    migrated and alice a customer; `policy` the host's."""
    if where == "memory":
        wiring = bootstrap.in_memory(customers=[ALICE], clock=clock, policy=policy)
    else:
        if isinstance(where, Path):
            wiring = bootstrap.on_sqlite(where, migrate=True, clock=clock, policy=policy)
        else:
            wiring = bootstrap.on_postgres(where, migrate=True, clock=clock, policy=policy)
        wiring.customers.put(ALICE)
    ledger = wiring.billing
    assert isinstance(ledger, InMemoryBilling | SqlBilling)
    billing = FaultyBilling(ledger, plan)
    wiring.service.billing = billing
    return wiring, billing


@contextmanager
def sqlite_file() -> Iterator[Path]:
    """The path of a SQLite file in a directory removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / "works.sqlite"


def money_differences(store: WorkOrders, billing: FaultyBilling) -> list[str]:
    """Every way the store and billing break the money rules; empty when they keep them.

    Reconciliation (K5); no payment refunded beyond it, nor more than twice (its unused
    hours, then the rest: rule H2); every payment billing holds is in the intake; each quote
    invoiced at most once and no invoice voided twice; each order's refunded is nothing
    or, once settled, everything it was paid; on a completed order, the unused hours its
    first completion refunded.
    """
    orders = store.by_state(*State)
    found = [str(d) for d in reconcile(store, billing)]
    held = {p.reference: p.amount for p in billing.payments()}
    refunds: dict[str, list[Money]] = {}
    for refund in billing.refunds():
        refunds.setdefault(refund.payment_id, []).append(refund.amount)
    for payment_id, amounts in refunds.items():
        total = sum(amounts[1:], amounts[0])
        if len(amounts) > 2 or (payment_id in held and total > held[payment_id]):
            found.append(f"payment {payment_id!r} refunded {len(amounts)} times: {total}")
    reported = {p.id for p in store.payments()}
    found += [
        f"payment {p.reference!r} billing holds is not in the intake"
        for p in billing.payments()
        if p.reference not in reported
    ]
    invoiced = Counter(i.order_id for i in billing.invoices())
    found += [
        f"order {o.id!r} has {len(o.ledger.quotes)} quotes and {invoiced[o.id]} invoices"
        for o in orders
        if invoiced[o.id] > len(o.ledger.quotes)
    ]
    voids = Counter(billing.voided())
    found += [f"invoice {i!r} voided {n} times" for i, n in voids.items() if n > 1]
    for order in orders:
        ledger = order.ledger
        unused = [
            r.amount
            for e in store.history(order.id)
            if isinstance(e, WorksCompleted)
            for r in e.unused_refunds
        ]
        expected = (
            ledger.paid if order.state in SETTLED else sum(unused, Money.zero(ledger.currency))
        )
        if ledger.refunded != expected:
            found.append(
                f"order {order.id!r} ({order.state.value}) paid {ledger.paid}, "
                f"refunded {ledger.refunded}"
            )
    return found


def _paid_quote_numbers(history: Sequence[Event]) -> set[int]:
    """The numbers of the quotes a payment paid: a payment pays the latest quote issued.

    Read from the history, not by comparing quotes: two quotes of the same hours at the
    same instant are equal values, and a stored order's quotes are decoded each on its own.
    """
    number, paid = 0, set()
    for event in history:
        if isinstance(event, EstimateIssued):
            number += 1
        elif isinstance(event, PaymentReceived):
            paid.add(number)
    return paid


def settled_differences(
    store: WorkOrders, billing: FaultyBilling, now: pendulum.DateTime
) -> list[str]:
    """After every retry: nothing pending, every quote invoiced once, and exactly the
    invoices of quotes that can no longer be paid voided, on top of `money_differences`."""
    found = money_differences(store, billing)
    found += [f"command {c.id} still pending" for c in store.pending_commands(10_000)]
    issued = {i.reference for i in billing.invoices()}
    invoiced = Counter(i.order_id for i in billing.invoices())
    expected_voids: set[str] = set()
    for order in store.by_state(*State):
        quotes = order.ledger.quotes
        if invoiced[order.id] != len(quotes):
            found.append(f"order {order.id!r}: {len(quotes)} quotes, {invoiced[order.id]} invoices")
        paid_numbers = _paid_quote_numbers(store.history(order.id))
        for number, quote in enumerate(quotes, start=1):
            reference = store.command_result(invoice_key(order.id, number))
            if reference not in issued:
                found.append(f"order {order.id!r}: quote {number} has no invoice")
                continue
            paid = number in paid_numbers
            open_ = order.state is State.ESTIMATED or order.ledger.supplementary_quote is not None
            payable = number == len(quotes) and open_ and quote.is_payable_at(now)
            if not (paid or payable):  # a supplementary quote (H4, H5) is paid or voided too
                expected_voids.add(str(reference))
    if expected_voids != set(billing.voided()):
        found.append(f"voided {sorted(billing.voided())}, expected {sorted(expected_voids)}")
    return found
