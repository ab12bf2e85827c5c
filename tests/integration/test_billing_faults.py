"""A fault at every billing call (issue 7): before the work, after it (a lost answer), or
the process dying right after it; then the retries a host makes converge.

One script of orders makes every kind of billing call: invoices, voids of superseded,
declined and lapsed quotes, refunds of cancelled, failed and withdrawn orders, refunds of
unapplied payments, a refund of unused hours at completion and of the rest on a claim (rule
H2).  Run once without faults it makes `N` calls; then it runs again, once
per call and `Fault`, with that one call going wrong.  A process that dies is replaced by
a new one, wired by `bootstrap` on the same database file or DSN, which goes on with the
script.  At the end the host retries what is pending (the use case again, the relay, the
lapsed-invoice job) and `billing_faults.settled_differences` must be empty: one invoice
per quote, at most one full refund per payment (and one of its unused hours), each void
once, reconciliation holding.

``pytest -s`` prints the figures (runs, calls, faults).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import timedelta
from typing import Final

import attrs
import psycopg
import pytest
from billing_faults import (
    MONDAY_9AM,
    Fault,
    FaultyBilling,
    ProcessDied,
    Where,
    settled_differences,
    sqlite_file,
    wire,
)
from psycopg import sql
from psycopg.conninfo import make_conninfo

from komtet_works.adapters.memory import ManualClock
from komtet_works.bootstrap import Wiring
from komtet_works.domain.errors import AmountMismatch, BillingFailed, QuoteExpired
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.domain.works import ClaimOutcome
from komtet_works.relay import relay, relay_billing
from komtet_works.use_cases import WorkOrderService

#: The host's policy: completions refund the hours paid for but not spent (rule H2).
REFUND_UNUSED: Final = Policy(spent_hours=SpentHours.REFUND_UNUSED)
#: Lost answers as a client sees them: a timeout, or its billing client's own failure.
LOST_ANSWER: Final = (BillingFailed, TimeoutError)


@attrs.define
class OneFault:
    """The plan that makes the `at`-th billing call meet `fault`, and no other."""

    at: int
    fault: Fault | None
    calls: int = 0
    kinds: Counter[str] = attrs.field(factory=Counter)
    hit: str | None = None

    def __call__(self, kind: str) -> Fault | None:
        self.calls += 1
        self.kinds[kind] += 1
        if self.calls != self.at:
            return None
        self.hit = kind
        return self.fault


@attrs.define
class Process:
    """The process taking the script's steps on `where`; replaced when it dies."""

    where: Where
    clock: ManualClock
    plan: OneFault
    wiring: Wiring = attrs.field(init=False)
    billing: FaultyBilling = attrs.field(init=False)
    deaths: int = 0

    def __attrs_post_init__(self) -> None:
        self._begin()

    def _begin(self) -> None:
        """A new process: its own connections, wired by bootstrap on the same database."""
        self.wiring, self.billing = wire(self.where, self.clock, self.plan, policy=REFUND_UNUSED)

    @property
    def service(self) -> WorkOrderService:
        return self.wiring.service

    def take(self, step: Callable[[WorkOrderService], object]) -> None:
        """One step; a lost answer is logged by the use case or raised, a death restarts."""
        try:
            step(self.service)
        except LOST_ANSWER:
            pass
        except ProcessDied:
            self.deaths += 1
            self.wiring.close()
            self._begin()


def pay(
    order_id: str, payment_id: str, *, short: bool = False
) -> Callable[[WorkOrderService], None]:
    """The customer pays the current quote (a kopeck short) in billing, which reports it."""

    def step(service: WorkOrderService) -> None:
        quote = service.orders.get(order_id).ledger.quotes[-1]
        amount = quote.total - Money.of("0.01") if short else quote.total
        billing = service.billing
        assert isinstance(billing, FaultyBilling)
        billing.receive(payment_id=payment_id, order_id=order_id, amount=amount)
        with suppress(AmountMismatch, QuoteExpired):  # refused: unapplied and refunded
            service.record_payment(order_id, payment_id=payment_id, amount=amount.amount)

    return step


def request(order_id: str) -> Callable[[WorkOrderService], object]:
    return lambda s: s.request(
        order_id=order_id, customer_id="alice", target="alice.ru", problem="it is down"
    )


def estimate(order_id: str, hours: str) -> Callable[[WorkOrderService], object]:
    return lambda s: s.estimate(order_id, staff_id="sam", hours=hours)


def script(clock: ManualClock) -> list[Callable[[WorkOrderService], object]]:
    """Every kind of billing call, over six orders whose ids hold separators."""
    cancelled, failed, declined, withdrawn, lapsed = "o:1", "o:refund:2", 'o "3"', "о-4", "o[5]"
    unused = '["refund_unused_hours","p-6"]'
    return [
        request(cancelled),
        estimate(cancelled, "2"),  # invoice
        estimate(cancelled, "3"),  # void of the first quote, invoice of the second
        pay(cancelled, "p:1"),
        lambda s: s.cancel(cancelled, customer_id="alice"),  # refund
        request(failed),
        estimate(failed, "1"),  # invoice
        pay(failed, "p:2", short=True),  # refund of an unapplied payment
        pay(failed, "refund:p:2"),
        lambda s: s.schedule(failed, staff_id="sam"),
        lambda s: s.start(failed, staff_id="sam"),
        lambda s: s.report_failure(failed, staff_id="sam"),  # refund
        request(declined),
        estimate(declined, "1"),  # invoice
        lambda s: s.decline(declined, customer_id="alice"),  # void
        request(withdrawn),
        estimate(withdrawn, "2"),  # invoice
        pay(withdrawn, "p-4"),
        lambda s: s.withdraw(withdrawn, staff_id="sam", reason="backup_impossible"),  # refund
        request(unused),
        estimate(unused, "3"),  # invoice
        pay(unused, "p-6"),
        lambda s: s.schedule(unused, staff_id="sam"),
        lambda s: s.start(unused, staff_id="sam"),
        lambda s: s.log_hours(unused, staff_id="sam", hours="1.25"),
        lambda s: s.complete(unused, staff_id="sam"),  # refund of the unused hours (H2)
        # the relay job: the notice a process that died after the completion never sent
        lambda s: relay(s.orders, s.notifier, clock=clock, after_sent=s.record_notice_sent),
        lambda s: s.file_claim(unused, customer_id="alice", text="still down"),
        lambda s: s.resolve_claim(unused, staff_id="sam", outcome=ClaimOutcome.REFUND),  # the rest
        request(lapsed),
        estimate(lapsed, "1"),  # invoice
        lambda _: clock.advance(timedelta(days=8)),
        lambda s: s.void_lapsed_invoices(),  # void
        pay(lapsed, "p-5"),  # late: refund of an unapplied payment
    ]


#: The use case that, called again, completes a refund left pending, by the order's state.
def _cancel_again(service: WorkOrderService, order_id: str) -> object:
    return service.cancel(order_id, customer_id="alice")


def _report_failure_again(service: WorkOrderService, order_id: str) -> object:
    return service.report_failure(order_id, staff_id="sam")


def _withdraw_again(service: WorkOrderService, order_id: str) -> object:
    return service.withdraw(order_id, staff_id="sam", reason="backup_impossible")


AGAIN: Final[dict[State, Callable[[WorkOrderService, str], object]]] = {
    State.CANCELLING: _cancel_again,
    State.REFUNDING: _report_failure_again,
    State.WITHDRAWING: _withdraw_again,
}


def again(order_id: str) -> Callable[[WorkOrderService], object]:
    """The use case that left `order_id` pending a refund, called again."""
    return lambda s: AGAIN[s.orders.get(order_id).state](s, order_id)


def retry(process: Process) -> None:
    """What the host does once billing answers: the use case again, the relay, the job."""
    for order in process.wiring.orders.by_state(*AGAIN):
        process.take(again(order.id))
    process.take(lambda s: relay_billing(s.orders, s.billing))
    process.take(lambda s: s.void_lapsed_invoices())


def run(where: Where, plan: OneFault) -> list[str]:
    """The script with `plan`'s fault, then the host's retries (twice: a fault may land
    in the first); what is still wrong.  The host refunds unused hours (rule H2), which
    only the order whose works are completed meets."""
    clock = ManualClock(MONDAY_9AM)
    process = Process(where, clock, plan)
    try:
        for step in script(clock):
            process.take(step)
        retry(process)
        retry(process)
        return settled_differences(process.wiring.orders, process.billing, clock.now())
    finally:
        process.wiring.close()


def sweep(fresh: Callable[[], AbstractContextManager[Where]]) -> Counter[str]:
    """The script without faults, then once per billing call and fault, each on a fresh
    database; every run must converge."""
    clean = OneFault(0, None)
    with fresh() as where:
        assert [] == run(where, clean)
    assert {"invoice", "void", "refund"} == set(clean.kinds)
    tally: Counter[str] = Counter(calls=clean.calls)
    for at in range(1, clean.calls + 1):
        for fault in Fault:
            plan = OneFault(at, fault)
            with fresh() as where:
                assert [] == run(where, plan), f"{fault.value} at call {at} ({plan.hit})"
            assert plan.hit is not None
            tally[f"{fault.value} at {plan.hit}"] += 1
            tally["runs"] += 1
    print(f"\nbilling faults: {dict(sorted(tally.items()))}")  # noqa: T201 - the figures
    return tally


@pytest.mark.rule("K2", "K3", "K4", "K5", "W1", "H2", "I4")
def test_every_billing_call_may_fail_lose_its_answer_or_kill_the_process_on_sqlite() -> None:
    """SQLite: a fault at any call of the script, and the retries still converge."""
    sweep(sqlite_file)


@pytest.mark.postgres
@pytest.mark.rule("K2", "K3", "K4", "K5", "W1", "H2", "I4")
def test_every_billing_call_may_fail_lose_its_answer_or_kill_the_process_on_postgres(
    pg_database: str,
) -> None:
    """PostgreSQL: the same, a schema per run, each new process a new connection."""

    @contextmanager
    def schema() -> Iterator[str]:
        name = f"faults_{secrets.token_hex(6)}"
        with psycopg.connect(pg_database, autocommit=True) as db:
            db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        try:
            yield make_conninfo(pg_database, options=f"-c search_path={name}")
        finally:
            with psycopg.connect(pg_database, autocommit=True) as db:
                db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))

    sweep(schema)
