"""Money across many orders sharing one billing system and one store (issue 7), as a
hypothesis state machine on memory, SQLite and PostgreSQL.

Customers pay in billing first (`receive`), then billing reports it (`record_payment`):
with ids from a small pool, reused across orders and repeated, of the wrong amount or
currency, late after the quote expired, for a replaced quote.  Between them: requests,
estimates and re-estimates, supplements, declines, cancels, withdrawals, works that fail
or are claimed and refunded, works that overrun their hours paid for and wait for a
supplementary estimate the customer pays or declines (the provider's policy here, H3-H5),
billing outages, the billing relay and the job that voids lapsed invoices.  After every
step the store and billing keep the money rules (`billing_faults.money_differences`); at
the end, after the retries, nothing is pending and exactly the invoices that can no
longer be paid are voided.

``pytest -s`` prints the figures (examples, steps, reports, outages).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from typing import Final

import psycopg
import pytest
from billing_faults import (
    DEFAULTS,
    MONDAY_9AM,
    Where,
    money_differences,
    settled_differences,
    sqlite_file,
    wire,
)
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql
from psycopg.conninfo import make_conninfo

from komtet_works.adapters.memory import ManualClock
from komtet_works.domain.errors import BillingFailed, KomtetWorksError, PaymentBelongsToAnotherOrder
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome, WithdrawalReason
from komtet_works.relay import relay_billing

#: Order and payment ids full of the separators that once made keys collide (rule K1).
ORDERS: Final = ("o-1", "o-2", "o-2:refund:p", 'o "4"', "о-5", "o-6", "o[7]", "o-8")
PAYMENTS: Final = ("p-1", "p-2", "p", "refund:p", "p-5", "p-6", "p-7", "p-8")
#: What the customer pays: the current quote (mostly), an earlier quote, a kopeck short,
#: the quote's figure in dollars.
AMOUNTS: Final = ("quote", "quote", "quote", "earlier", "short", "usd")

#: A host whose completions refund the hours paid for but not spent (rule H2).
REFUND_UNUSED: Final = Policy(spent_hours=SpentHours.REFUND_UNUSED)
#: A host whose works wait, past the hours paid for, for a supplementary estimate (H3-H5).
SUPPLEMENTARY: Final = Policy(spent_hours=SpentHours.SUPPLEMENTARY_ESTIMATE)

TALLY: Counter[str] = Counter()


class MoneyMachine(RuleBasedStateMachine):
    """One store and one billing system; `where` names the store (see `billing_faults.wire`)."""

    open_where: Callable[[], Where]
    #: the host's policy: the library's, one that refunds unused hours (rule H2), or one
    #: that asks for supplementary estimates (H3-H5)
    policy: Policy = DEFAULTS

    def __init__(self) -> None:
        super().__init__()
        self.resources = ExitStack()
        self.clock = ManualClock(MONDAY_9AM)
        self.wiring, self.billing = wire(self.open_where(), self.clock, policy=self.policy)
        self.resources.callback(self.wiring.close)
        self.service, self.orders = self.wiring.service, self.wiring.orders
        #: the order each payment id was first reported for: its owner for ever
        self.owners: dict[str, str] = {}
        #: each order's state after the last step (what the steps draw from)
        self.states: dict[str, State] = {}
        TALLY["examples"] += 1

    def teardown(self) -> None:
        try:
            self._retry_everything()
            assert [] == settled_differences(self.orders, self.billing, self.clock.now())
        finally:
            self.resources.close()

    def _retry_everything(self) -> None:
        """What the host's jobs do once billing is back: settle, void the lapsed, relay."""
        self.billing.failing = False
        for order in self.orders.by_state(State.CANCELLING, State.REFUNDING, State.WITHDRAWING):
            self.service.settle_refunds(order.id)
        self.service.void_lapsed_invoices()
        relay_billing(self.orders, self.billing)

    def _order(self, order_id: str) -> WorkOrder | None:
        return next((o for o in self.orders.by_state(*State) if o.id == order_id), None)

    def _take(self, order_id: str, step: Callable[[], object]) -> None:
        """Take a step; a refusal (anything but a billing outage) changes nothing."""
        TALLY["steps"] += 1
        before = self._order(order_id)
        try:
            after = step()
            if isinstance(after, WorkOrder) and after != before:
                TALLY[f"to {after.state.value}"] += 1
        except BillingFailed:
            TALLY["steps met an outage"] += 1
        except KomtetWorksError as refusal:
            TALLY[f"refused: {refusal.code}"] += 1
            assert before == self._order(order_id)

    def _some(self, *states: State) -> bool:
        return any(state in states for state in self.states.values())

    def _pick(self, data: st.DataObject, *states: State) -> str:
        """An order in one of `states` three times in four (any order id the fourth)."""
        fitting = [i for i, state in self.states.items() if state in states] or list(ORDERS)
        likely = st.sampled_from(fitting)
        return data.draw(st.one_of(likely, likely, likely, st.sampled_from(ORDERS)))

    # --- the customer's and the staff's steps ------------------------------------------------

    @initialize(
        order_ids=st.lists(st.sampled_from(ORDERS), min_size=2, max_size=4, unique=True),
        estimated=st.integers(0, 4),
    )
    def some_orders(self, order_ids: list[str], estimated: int) -> None:
        """Orders requested, the first `estimated` of them estimated."""
        for number, order_id in enumerate(order_ids):
            self._request(order_id)
            if number < estimated:
                self.service.estimate(order_id, staff_id="sam", hours="2")

    @precondition(lambda self: len(self.states) < len(ORDERS))
    @rule(data=st.data())
    def request(self, data: st.DataObject) -> None:
        """A new order three times in four; else an id that may be taken."""
        new = [i for i in ORDERS if i not in self.states] or list(ORDERS)
        likely = st.sampled_from(new)
        order_id = data.draw(st.one_of(likely, likely, likely, st.sampled_from(ORDERS)))
        self._request(order_id)

    def _request(self, order_id: str) -> None:
        self._take(
            order_id,
            lambda: self.service.request(
                order_id=order_id, customer_id="alice", target="alice.ru", problem="it is down"
            ),
        )

    @rule(data=st.data(), hours=st.sampled_from(["1", "2", "3.5"]))
    def estimate(self, data: st.DataObject, hours: str) -> None:
        """An estimate, or a re-estimate that replaces the quote."""
        order_id = self._pick(data, State.REQUESTED, State.ESTIMATED)
        self._take(order_id, lambda: self.service.estimate(order_id, staff_id="sam", hours=hours))

    @precondition(lambda self: self._some(State.ESTIMATED, State.IN_PROGRESS))
    @rule(data=st.data(), how=st.sampled_from(["supplement", "decline"]))
    def customer_turns_away(self, data: st.DataObject, how: str) -> None:
        """A supplement withdraws the quote; a decline ends the order, or of works in
        progress turns down their supplementary quote (H5)."""
        order_id = self._pick(data, State.ESTIMATED, State.IN_PROGRESS)
        if how == "supplement":
            self._take(
                order_id,
                lambda: self.service.supplement(order_id, customer_id="alice", text="and mail"),
            )
        else:
            self._take(order_id, lambda: self.service.decline(order_id, customer_id="alice"))

    @precondition(lambda self: self._some(State.PAID, State.SCHEDULED, State.IN_PROGRESS))
    @rule(data=st.data(), steps=st.integers(1, 3))
    def works_go_on(self, data: st.DataObject, steps: int) -> None:
        """The next steps of staff: schedule a paid order, start it, complete it."""
        order_id = self._pick(data, State.PAID, State.SCHEDULED, State.IN_PROGRESS)
        for _ in range(steps):
            order = self._order(order_id)
            state = order.state if order is not None else State.PAID
            if state is State.PAID:
                self._take(order_id, lambda: self.service.schedule(order_id, staff_id="sam"))
            elif state is State.SCHEDULED:
                self._take(order_id, lambda: self.service.start(order_id, staff_id="sam"))
            elif order is not None and not order.works.spent_hours:
                self._take(  # fewer hours than paid: under `refund_unused` some come back
                    order_id, lambda: self.service.log_hours(order_id, staff_id="sam", hours="0.5")
                )
            else:
                refunds = len(self.orders.get(order_id).ledger.refunds)
                self._take(order_id, lambda: self.service.complete(order_id, staff_id="sam"))
                TALLY["unused hours refunded"] += refunds < len(
                    self.orders.get(order_id).ledger.refunds
                )

    @precondition(lambda self: self._some(State.IN_PROGRESS))
    @rule(data=st.data(), hours=st.sampled_from(["0.5", "1.5", "3"]))
    def log_hours(self, data: st.DataObject, hours: str) -> None:
        """Staff log hours spent: under `refund_unused` fewer than paid are refunded (H2)."""
        order_id = self._pick(data, State.IN_PROGRESS)
        self._take(order_id, lambda: self.service.log_hours(order_id, staff_id="sam", hours=hours))

    @precondition(lambda self: self._some(State.PAID, State.SCHEDULED, State.IN_PROGRESS))
    @rule(
        data=st.data(),
        extra=st.sampled_from(["0.5", "1", "2.5"]),
        then=st.sampled_from(["pay", "pay", "decline", "wait"]),
        payment_id=st.sampled_from(PAYMENTS),
    )
    def overrun(self, data: st.DataObject, extra: str, then: str, payment_id: str) -> None:
        """Staff log more hours than were paid for (the works stop, H3) and estimate the
        extra hours (H4): the supplementary quote is invoiced, then paid or declined now,
        or later, or lapses, is superseded or left open when the works end (H5)."""
        order_id = self._pick(data, State.PAID, State.SCHEDULED, State.IN_PROGRESS)
        self._works_start(order_id)
        self._take(order_id, lambda: self.service.log_hours(order_id, staff_id="sam", hours="3"))
        self._take(order_id, lambda: self.service.estimate(order_id, staff_id="sam", hours=extra))
        order = self._order(order_id)
        if order is None or order.ledger.supplementary_quote is None:
            return
        TALLY["supplementary quotes"] += 1
        if then == "pay":
            self._pay(order_id, payment_id, "quote")
        elif then == "decline":
            self._take(order_id, lambda: self.service.decline(order_id, customer_id="alice"))

    def _works_start(self, order_id: str) -> None:
        """Staff schedule a paid order and start it, as far as the rules let them."""
        for _ in range(2):
            order = self._order(order_id)
            if order is None or order.state is State.PAID:
                self._take(order_id, lambda: self.service.schedule(order_id, staff_id="sam"))
            elif order.state is State.SCHEDULED:
                self._take(order_id, lambda: self.service.start(order_id, staff_id="sam"))

    @precondition(lambda self: self._some(State.IN_PROGRESS))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """Not solved after the works started: refunded."""
        order_id = self._pick(data, State.IN_PROGRESS)
        self._take(order_id, lambda: self.service.report_failure(order_id, staff_id="sam"))

    @precondition(lambda self: self._some(State.COMPLETED))
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        order_id = self._pick(data, State.COMPLETED)
        self._take(
            order_id,
            lambda: self.service.file_claim(order_id, customer_id="alice", text="still down"),
        )

    @precondition(lambda self: self._some(State.CLAIMED))
    @rule(data=st.data(), outcome=st.sampled_from(ClaimOutcome))
    def resolve_claim(self, data: st.DataObject, outcome: ClaimOutcome) -> None:
        order_id = self._pick(data, State.CLAIMED)
        self._take(
            order_id,
            lambda: self.service.resolve_claim(order_id, staff_id="sam", outcome=outcome),
        )

    @precondition(lambda self: self._some(State.PAID, State.SCHEDULED))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = self._pick(data, State.PAID, State.SCHEDULED)
        self._take(order_id, lambda: self.service.cancel(order_id, customer_id="alice"))

    @precondition(lambda self: self._some(State.PAID, State.SCHEDULED))
    @rule(data=st.data(), reason=st.sampled_from(WithdrawalReason))
    def withdraw(self, data: st.DataObject, reason: WithdrawalReason) -> None:
        order_id = self._pick(data, State.PAID, State.SCHEDULED)
        self._take(
            order_id,
            lambda: self.service.withdraw(order_id, staff_id="sam", reason=reason),
        )

    @precondition(lambda self: self._some(State.CANCELLING, State.REFUNDING, State.WITHDRAWING))
    @rule(data=st.data())
    def settle_refunds(self, data: st.DataObject) -> None:
        """The retry of a refund an outage left pending."""
        order_id = self._pick(data, State.CANCELLING, State.REFUNDING, State.WITHDRAWING)
        self._take(order_id, lambda: self.service.settle_refunds(order_id))

    # --- money ----------------------------------------------------------------------------

    def _price(self, order_id: str, amount: str) -> Money:
        order = self._order(order_id)
        quotes = order.ledger.quotes if order is not None else ()
        total = quotes[-1].total if quotes else Money.of("1000.00")
        if amount == "earlier" and len(quotes) > 1:
            total = quotes[-2].total
        if amount == "short":
            return total - Money.of("0.01")
        return Money.of(total.amount, "USD") if amount == "usd" else total

    @precondition(lambda self: self._some(State.ESTIMATED, State.IN_PROGRESS))
    @rule(data=st.data(), payment_id=st.sampled_from(PAYMENTS), amount=st.sampled_from(AMOUNTS))
    def pay(self, data: st.DataObject, payment_id: str, amount: str) -> None:
        """A customer pays in billing, then billing reports it; a known id is reported again.
        Works in progress are paid their supplementary quote, or paid for nothing (H5)."""
        self._pay(self._pick(data, State.ESTIMATED, State.IN_PROGRESS), payment_id, amount)

    def _pay(self, order_id: str, payment_id: str, amount: str) -> None:
        held = {p.reference: p for p in self.billing.payments()}.get(payment_id)
        if held is not None:
            self._report_again(payment_id, order_id)
            return
        money = self._price(order_id, amount)
        self.billing.receive(payment_id=payment_id, order_id=order_id, amount=money)
        TALLY["payments"] += 1
        before = self._order(order_id)
        self._take(
            order_id,
            lambda: self.service.record_payment(
                order_id, payment_id=payment_id, amount=money.amount, currency=money.currency
            ),
        )
        after = self._order(order_id)
        if before is not None and after is not None and before.state is State.IN_PROGRESS:
            paid = len(after.ledger.payments) > len(before.ledger.payments)
            TALLY[
                "supplementary quotes paid" if paid else "money for works in progress refused"
            ] += 1
        report = self.orders.reported(payment_id)
        assert report is not None
        assert (order_id, money) == (report.order_id, report.payment.amount)
        self.owners[payment_id] = order_id

    def _report_again(self, payment_id: str, order_id: str) -> None:
        """Billing's callback again (a retry), or for another order: nothing changes."""
        held = {p.reference: p for p in self.billing.payments()}[payment_id]
        owner = self.owners[payment_id]
        report = self.orders.reported(payment_id)
        before = list(self.orders.by_state(*State)), list(self.orders.payments())
        again = order_id == owner
        TALLY["reports again" if again else "reports for another order"] += 1
        refused: str | None = None
        try:
            self.service.record_payment(
                order_id,
                payment_id=payment_id,
                amount=held.amount.amount,
                currency=held.amount.currency,
            )
        except KomtetWorksError as refusal:
            refused = refusal.code
        assert report is not None
        assert (report.refused if again else PaymentBelongsToAnotherOrder.code) == refused
        assert before == (list(self.orders.by_state(*State)), list(self.orders.payments()))

    # --- time, billing and the host's jobs ---------------------------------------------------

    @rule(hours=st.sampled_from([1, 5, 30, 8 * 24]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(down=st.booleans())
    def billing_outage(self, down: bool) -> None:
        TALLY["outages"] += down and not self.billing.failing
        self.billing.failing = down

    @rule()
    def relay(self) -> None:
        TALLY["relays"] += 1
        relay_billing(self.orders, self.billing)

    @rule()
    def void_lapsed_invoices(self) -> None:
        self.service.void_lapsed_invoices()

    @invariant()
    def money_is_never_lost_nor_paid_twice(self) -> None:
        self.states = {o.id: o.state for o in self.orders.by_state(*State)}
        assert [] == money_differences(self.orders, self.billing)
        assert self.owners == {
            p.id: p.order_id for p in self.orders.payments() if p.id in self.owners
        }


def _run(machine: type[MoneyMachine], examples: int, steps: int) -> None:
    TALLY.clear()
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None),
    )
    print(f"\nmoney state machine ({machine.__name__}): {dict(sorted(TALLY.items()))}")  # noqa: T201


@pytest.mark.rule("K2", "K3", "K4", "K5", "W1", "D-UNAPPLIED")
def test_money_in_memory_is_never_lost_nor_paid_twice() -> None:
    """Many orders, one billing system, in memory: every step keeps the money rules."""

    class InMemory(MoneyMachine):
        open_where = staticmethod(lambda: "memory")

    _run(InMemory, examples=150, steps=60)


@pytest.mark.rule("K2", "K3", "K4", "K5", "W1", "D-UNAPPLIED")
def test_money_on_sqlite_is_never_lost_nor_paid_twice() -> None:
    """The same on one SQLite file: orders, intake, outbox and the ledger in it."""

    class OnSqlite(MoneyMachine):
        def open_where(self) -> Where:
            return self.resources.enter_context(sqlite_file())

    _run(OnSqlite, examples=25, steps=40)


@pytest.mark.rule("H4", "H5", "I4", "K3", "K4", "K5")
def test_money_with_supplementary_estimates_in_memory_is_never_lost_nor_paid_twice() -> None:
    """Under `supplementary_estimate`: overruns wait for supplementary quotes, which are
    paid, declined, lapse or are left open at the end of the works, and voided unless paid."""

    class InMemory(MoneyMachine):
        open_where = staticmethod(lambda: "memory")
        policy = SUPPLEMENTARY

    _run(InMemory, examples=75, steps=60)


@pytest.mark.rule("H4", "H5", "I4", "K3", "K4", "K5")
def test_money_with_supplementary_estimates_on_sqlite_is_never_lost_nor_paid_twice() -> None:
    """The same on SQLite: the supplementary invoices and their voids in the outbox."""

    class OnSqlite(MoneyMachine):
        policy = SUPPLEMENTARY

        def open_where(self) -> Where:
            return self.resources.enter_context(sqlite_file())

    _run(OnSqlite, examples=10, steps=40)


@pytest.mark.rule("H2", "I4", "K3", "K5")
def test_money_with_unused_hours_refunded_in_memory_is_never_lost_nor_paid_twice() -> None:
    """Under `refund_unused`: completions refund in part, claims and failures the rest."""

    class InMemory(MoneyMachine):
        open_where = staticmethod(lambda: "memory")
        policy = REFUND_UNUSED

    _run(InMemory, examples=75, steps=60)


@pytest.mark.rule("H2", "I4", "K3", "K5")
def test_money_with_unused_hours_refunded_on_sqlite_is_never_lost_nor_paid_twice() -> None:
    """The same on SQLite: the refund in part in the SQL ledger, its command in the outbox."""

    class OnSqlite(MoneyMachine):
        policy = REFUND_UNUSED

        def open_where(self) -> Where:
            return self.resources.enter_context(sqlite_file())

    _run(OnSqlite, examples=10, steps=40)


@pytest.mark.postgres
@pytest.mark.rule("K2", "K3", "K4", "K5", "W1", "D-UNAPPLIED")
def test_money_on_postgres_is_never_lost_nor_paid_twice(pg_database: str) -> None:
    """The same on PostgreSQL, a schema per example."""

    class OnPostgres(MoneyMachine):
        def open_where(self) -> Where:
            schema = f"money_{secrets.token_hex(6)}"
            with psycopg.connect(pg_database, autocommit=True) as db:
                db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            self.resources.callback(_drop, pg_database, schema)
            return make_conninfo(pg_database, options=f"-c search_path={schema}")

    _run(OnPostgres, examples=15, steps=30)


def _drop(database: str, schema: str) -> None:
    with psycopg.connect(database, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
