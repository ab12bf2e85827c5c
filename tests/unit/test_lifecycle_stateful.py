"""The lifecycle as a state machine: any sequence of use cases, by anyone, at any time.

`LifecycleMachine` drives `WorkOrderService` over the in-memory adapters with a few
customers and orders, a manual clock that jumps (onto quote expiries and claim deadlines,
and backwards), outages of billing and backups, wrong actors, bad amounts and retried
payment callbacks.  Every step's outcome is predicted by a small model kept here: a step
the model expects to succeed must succeed and move the order along `TRANSITIONS`; a step it
expects to be refused must raise exactly the predicted `KomtetWorksError` and leave the
stored order as it was.  After every step the invariants check each stored order, the
billing system, the backups and the notifier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from komtet_works import (
    TRANSITIONS,
    Action,
    Actor,
    ActorKind,
    ActorNotAllowed,
    AmountMismatch,
    BackupFailed,
    BillingFailed,
    CancellationNotAllowed,
    ClaimLimitReached,
    ClaimMustBeHonoured,
    ClaimOutcome,
    ClaimRemedy,
    ClaimVoidCustomerChanges,
    ClaimWindowClosed,
    ClaimWindowOpen,
    Customer,
    DueTooSoon,
    HostingFaultFreeSupport,
    InvalidHours,
    InvalidInput,
    InvalidMoney,
    InvalidTransition,
    KomtetWorksError,
    Money,
    NoCurrentQuote,
    NotCustomerTarget,
    NoticeNotSent,
    NotOrderOwner,
    OrderExists,
    OutOfOrder,
    PaymentConflict,
    Policy,
    QuoteExpired,
    ReworkNotAgreed,
    SpentHours,
    State,
    SupplementaryEstimateNeeded,
    TargetBusy,
    UnknownCustomer,
    UnknownOrder,
    WithdrawalReason,
    WorkOrder,
    WorkOrderService,
)
from komtet_works.adapters import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.domain import recorded
from komtet_works.domain.commands import invoice_key, refund_key, unused_hours_key
from komtet_works.domain.events import (
    ClaimAccepted,
    ClaimFiled,
    ClaimRejected,
    CompletionDateAnnounced,
    CompletionNoticeSent,
    CustomerChangeRecorded,
    EstimateIssued,
    Event,
    HoursLogged,
    OrderCancelled,
    OrderClosed,
    OrderRequested,
    OrderWithdrawn,
    PaymentReceived,
    QuoteDeclined,
    RefundsSettled,
    RequestSupplemented,
    RestoreWithheld,
    ReworkStarted,
    WorksCompleted,
    WorksFailed,
    WorksStarted,
)
from komtet_works.domain.lifecycle import (
    ACTORS,
    SUPPLEMENTARY_STEPS,
    TERMINAL,
    WORKS_UNDER_WAY,
)
from komtet_works.domain.pricing import Tariff
from komtet_works.domain.scheduling import finish_after
from komtet_works.domain.unused_hours import unused_hours_refund
from komtet_works.ports import MessageKind
from komtet_works.relay import RelayPolicy, relay, relay_billing
from komtet_works.use_cases import BILLING, CLOSING_JOB, REFUNDS

START: Final = pendulum.datetime(2025, 3, 3, 9, tz="Europe/Moscow")
CLAIM_WINDOW: Final = timedelta(hours=72)
QUOTE_VALIDITY: Final = timedelta(days=7)
MAX_ORDERS: Final = 4
RUB_RATE: Final = Decimal(1000)
MAX_HOURS: Final = Decimal(10_000)
KOPECK: Final = Decimal("0.01")

CUSTOMERS: Final = (
    Customer(
        "alice",
        sites=frozenset({"alice.ru", "shop.alice.ru"}),
        servers=frozenset({"vps-alice"}),
        maintained_sites=frozenset({"shop.alice.ru"}),
    ),
    Customer("bob", sites=frozenset({"bob.ru"}), servers=frozenset({"vps-bob"})),
    Customer("carol", sites=frozenset({"carol.ru"}), maintained_sites=frozenset({"carol.ru"})),
)
#: Who may turn up: the customers and someone the hosting does not know.
PEOPLE: Final = ("alice", "bob", "carol", "mallory")
TARGETS: Final = ("alice.ru", "shop.alice.ru", "vps-alice", "bob.ru", "vps-bob", "carol.ru")
THIRD_PARTY: Final = "elsewhere.example.com"
SITE_OWNERS: Final = {
    "alice.ru": "alice",
    "shop.alice.ru": "alice",
    "bob.ru": "bob",
    "carol.ru": "carol",
}

#: The action each kind of event records.
EVENT_ACTIONS: Final[dict[type[Event], Action]] = {
    OrderRequested: Action.REQUEST,
    RequestSupplemented: Action.SUPPLEMENT,
    EstimateIssued: Action.ESTIMATE,
    QuoteDeclined: Action.DECLINE,
    PaymentReceived: Action.PAY,
    CompletionDateAnnounced: Action.SCHEDULE,
    OrderCancelled: Action.CANCEL,
    WorksStarted: Action.START,
    CustomerChangeRecorded: Action.CUSTOMER_CHANGE,
    WorksCompleted: Action.COMPLETE,
    CompletionNoticeSent: Action.NOTICE_SENT,
    WorksFailed: Action.FAIL,
    ClaimFiled: Action.CLAIM,
    ClaimAccepted: Action.ACCEPT_CLAIM,
    ClaimRejected: Action.REJECT_CLAIM,
    ReworkStarted: Action.REWORK,
    RefundsSettled: Action.SETTLE_REFUND,
    OrderClosed: Action.CLOSE,
    HoursLogged: Action.LOG_HOURS,
    OrderWithdrawn: Action.WITHDRAW,
}
RESOLUTIONS: Final = {
    ClaimOutcome.REFUND: Action.ACCEPT_CLAIM,
    ClaimOutcome.REJECT: Action.REJECT_CLAIM,
    ClaimOutcome.REWORK: Action.REWORK,
}
#: States an order reaches only after its works started.
AFTER_START: Final = frozenset(
    {
        State.IN_PROGRESS,
        State.COMPLETED,
        State.CLAIMED,
        State.CLOSED,
        State.REFUNDING,
        State.REFUNDED,
    }
)
#: The refunding steps, and the pending state each may complete when called again.
SETTLES: Final = {
    Action.CANCEL: State.CANCELLING,
    Action.FAIL: State.REFUNDING,
    Action.ACCEPT_CLAIM: State.REFUNDING,
    Action.WITHDRAW: State.WITHDRAWING,
}

#: Hours as staff might type them: plausible decimals, and things that are not hours.
VALID_HOURS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)
HOURS = st.one_of(
    VALID_HOURS.map(str),
    VALID_HOURS,
    st.sampled_from(["0", "-1", 2.5, "NaN", "10000.5", "two", True]),
)
#: Most steps are taken by the order's own customer; None stands for them.
SOMEONE = st.sampled_from([None, None, None, "alice", "bob", "carol", "mallory"])
#: Outages are the exception: False most of the time.
OUTAGE = st.sampled_from([False, False, False, True])
PICK = st.integers(min_value=0, max_value=MAX_ORDERS - 1)


def as_hours(value: object) -> Decimal | None:
    """The hours `value` stands for, or None when it is not a plausible estimate."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        return None
    try:
        hours = Decimal(value)
    except InvalidOperation:
        return None
    return hours if hours.is_finite() and 0 < hours <= MAX_HOURS else None


def expected_total(hours: Decimal, *, maintained_site: bool, supplementary: bool = False) -> Money:
    """The seed tariff, worked out independently: 1 h minimum (none for a supplementary
    estimate, H4), hours as estimated, 20% off."""
    billable = hours if supplementary else max(Decimal(1), hours)
    gross = (billable * RUB_RATE).quantize(KOPECK, ROUND_HALF_UP)
    discount = (gross * Decimal("0.2")).quantize(KOPECK, ROUND_HALF_UP) if maintained_site else 0
    return Money.of(gross - discount)


@attrs.define
class Supplement:
    """An open supplementary quote, as the model works it out (rule H4)."""

    hours: Decimal
    total: Money
    payable_until: pendulum.DateTime


@attrs.define
class Expected:
    """What the machine believes about one order, kept apart from the order itself."""

    owner: str
    target: str
    state: State
    last_at: pendulum.DateTime
    version: int = 1
    quote_total: Money | None = None
    payable_until: pendulum.DateTime | None = None
    payments: dict[str, Money] = attrs.Factory(dict)
    refunded: set[str] = attrs.Factory(set)
    started_at: pendulum.DateTime | None = None
    #: whether a change was recorded after the start step (C2: by the order of the steps)
    changed_during_works: bool = False
    #: the claim deadline; None while the latest completion notice waits (mail was down)
    deadline: pendulum.DateTime | None = None
    #: when the relay tries the waiting completion notice again (None: none waits)
    notice_retry_at: pendulum.DateTime | None = None
    claims: int = 0
    #: claims filed since the last completion notice (C3, C5: one window each)
    window_claims: int = 0
    remedy: ClaimRemedy = ClaimRemedy.REFUND
    restored: bool | None = None
    #: the hours staff logged, in order (rule H1)
    logged: list[Decimal] = attrs.Factory(list)
    #: the billable hours of the current quote, and of the quotes paid (rule H3)
    quote_hours: Decimal | None = None
    paid_hours: Decimal = Decimal(0)
    #: the open supplementary quote of works in progress (rules H4, H5)
    supplement: Supplement | None = None

    @property
    def overrun(self) -> Decimal:
        return max(sum(self.logged, Decimal(0)) - self.paid_hours, Decimal(0))

    #: how many times the works were completed (H2: only the first refunds unused hours)
    completions: int = 0
    #: per payment, what the first completion refunded of it for unused hours (rule H2)
    unused: dict[str, Money] = attrs.Factory(dict)

    def changed_since_start(self) -> bool:
        return self.changed_during_works


class LifecycleMachine(RuleBasedStateMachine):
    """Every use case, with right and wrong actors, inputs and timing, against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        #: the remedy the customer of `move_along` asks for
        self._remedy_for = ClaimRemedy.REFUND
        self.orders = InMemoryWorkOrders()
        self.customers = {c.id: c for c in CUSTOMERS}
        self.directory = InMemoryCustomerDirectory(CUSTOMERS)
        self.billing = InMemoryBilling()
        self.backups = InMemoryBackups()
        self.notifier = InMemoryNotifier(self.clock)
        self.service = WorkOrderService(
            orders=self.orders,
            customers=self.directory,
            billing=self.billing,
            backups=self.backups,
            notifier=self.notifier,
            clock=self.clock,
            calendar=InMemoryBusinessCalendar(),
        )
        self.expected: dict[str, Expected] = {}
        self.payment_ids = 0
        #: billing's idempotency key -> the amount the model says went out under it
        self.invoices: dict[str, Money] = {}
        self.refunds: dict[str, Money] = {}
        #: payments the rules refused for their order, each refunded in full at once
        self.unapplied: dict[str, Money] = {}
        #: the order as it was when first seen in a terminal state
        self.final: dict[str, WorkOrder] = {}

    @initialize(
        cancellations=st.sampled_from([True, True, False]), spent_hours=st.sampled_from(SpentHours)
    )
    def provider_policy(self, cancellations: bool, spent_hours: SpentHours) -> None:
        """Most providers take cancellations after payment (the default); some do not.  What
        the hours spent do to the money is any option of D-OVERRUN (rules H2-H5)."""
        self.service.policy = Policy(cancel_before_start=cancellations, spent_hours=spent_hours)

    @property
    def _supplementary(self) -> bool:
        return self.service.policy.spent_hours is SpentHours.SUPPLEMENTARY_ESTIMATE

    # --- plumbing -------------------------------------------------------------------------

    def _order_id(self, pick: int) -> str:
        ids = list(self.expected)
        return ids[pick % len(ids)]

    def _customer(self, order_id: str, someone: str | None) -> str:
        return self.expected[order_id].owner if someone is None else someone

    def _refusal(
        self, order_id: str, action: Action, actor: Actor
    ) -> type[KomtetWorksError] | None:
        """The guards every step starts with, in the order the rules apply them."""
        model = self.expected[order_id]
        if actor.kind is ActorKind.CUSTOMER and actor.id != model.owner:
            return NotOrderOwner
        if actor.kind not in ACTORS[action]:
            return ActorNotAllowed
        if (model.state, action) not in TRANSITIONS:
            return InvalidTransition
        if (model.state, action) in SUPPLEMENTARY_STEPS and not (
            self._supplementary if action is Action.ESTIMATE else model.supplement is not None
        ):
            return InvalidTransition  # rules H4, H5
        if self.clock.now() < model.last_at:
            return OutOfOrder
        return None

    def _attempt(
        self,
        order_id: str,
        action: Action,
        refusal: type[KomtetWorksError] | None,
        step: Callable[[], WorkOrder],
    ) -> WorkOrder | None:
        """Take a step: refused exactly as predicted and changing nothing, or taken."""
        before = self.orders.get(order_id)
        if refusal is not None:
            with pytest.raises(KomtetWorksError) as caught:
                step()
            assert refusal is type(caught.value)
            assert before == self.orders.get(order_id)
            return None
        after = step()
        model = self.expected[order_id]
        assert after == self.orders.get(order_id)
        assert TRANSITIONS[model.state, action] is after.state
        self._moves(model, after.state)
        model.version += 1
        model.last_at = self.clock.now()
        return after

    @staticmethod
    def _moves(model: Expected, state: State) -> None:
        """The model's order moves to `state`; works that end leave no supplement open."""
        model.state = state
        if state is not State.IN_PROGRESS:
            model.supplement = None

    def _refund_step(
        self,
        order_id: str,
        action: Action,
        refusal: type[KomtetWorksError] | None,
        step: Callable[[], WorkOrder],
        *,
        billing_down: bool,
        restore_fails: bool,
    ) -> None:
        """A refunding step: refused changing nothing; or its intent committed first, then
        settled, unless billing is down: then the order waits in its pending state."""
        model = self.expected[order_id]
        self.billing.failing = billing_down
        self.backups.failing_restores = restore_fails
        try:
            if refusal is not None:
                self._attempt(order_id, action, refusal, step)
                return
            if model.state is not SETTLES.get(action):
                self._moves(model, TRANSITIONS[model.state, action])
                model.version += 1
                model.last_at = self.clock.now()
            if billing_down:
                with pytest.raises(BillingFailed):
                    step()
                stored = self.orders.get(order_id)
                assert (model.state, model.version) == (stored.state, stored.version)
                return
            self._attempt(order_id, Action.SETTLE_REFUND, None, step)
        finally:
            self.billing.failing = False
            self.backups.failing_restores = False
        self._refund_everything(order_id)
        if model.state is State.REFUNDED:
            self._settled_restore(order_id, restore_fails=restore_fails)

    def _retries(self, order_id: str, action: Action, actor: Actor) -> bool:
        """Whether `action` by `actor` is the retry that settles a pending refund."""
        model = self.expected[order_id]
        owns = actor.kind is not ActorKind.CUSTOMER or actor.id == model.owner
        return owns and model.state is SETTLES[action]

    def _refund_refusal(
        self, order_id: str, action: Action, actor: Actor
    ) -> type[KomtetWorksError] | None:
        """The refusal of a refunding step; a retry is refused as its settlement would be."""
        if self._retries(order_id, action, actor):
            return self._refusal(order_id, Action.SETTLE_REFUND, REFUNDS)
        refusal = self._refusal(order_id, action, actor)
        if (
            refusal is None
            and action is Action.CANCEL
            and not self.service.policy.cancel_before_start
        ):
            return CancellationNotAllowed
        return refusal

    def _refund_everything(self, order_id: str) -> None:
        """What is left of each payment, once refunded in part for unused hours (H2, I4)."""
        model = self.expected[order_id]
        for payment_id, amount in model.payments.items():
            if payment_id not in model.refunded:
                self.refunds[refund_key(payment_id)] = amount - model.unused.get(
                    payment_id, Money.zero(amount.currency)
                )
                model.refunded.add(payment_id)

    def _refund_unused(self, order: WorkOrder, model: Expected) -> None:
        """Rule H2: the first completion under `refund_unused` refunds the unused hours of
        the one payment an order takes, through the billing outbox."""
        model.completions += 1
        quote = order.ledger.current_quote
        if (
            self.service.policy.spent_hours is not SpentHours.REFUND_UNUSED
            or model.completions > 1
            or quote is None
        ):
            return
        paid = sum(model.payments.values(), Money.zero())
        refund = unused_hours_refund(
            quote, sum(model.logged, Decimal(0)), paid=paid, tariff=Tariff()
        )
        if refund.amount > 0:
            (payment_id,) = model.payments
            model.unused[payment_id] = refund

    # --- the steps, with their predicted outcome ------------------------------------------

    def _request(self, person: str, target: str, *, hosting_fault: bool, problem: str) -> None:
        order_id = f"wo-{len(self.expected) + 1}"
        customer = self.customers.get(person)
        refusal: type[KomtetWorksError] | None = None
        if customer is None:
            refusal = UnknownCustomer
        elif target not in customer.sites | customer.servers:
            refusal = NotCustomerTarget
        elif hosting_fault:
            refusal = HostingFaultFreeSupport
        elif not problem.strip():
            refusal = InvalidInput

        def step() -> WorkOrder:
            return self.service.request(
                order_id=order_id,
                customer_id=person,
                target=target,
                problem=problem,
                hosting_fault=hosting_fault,
            )

        if refusal is not None:
            with pytest.raises(KomtetWorksError) as caught:
                step()
            assert refusal is type(caught.value)
            with pytest.raises(UnknownOrder):
                self.orders.get(order_id)
            return
        order = step()
        assert order == self.orders.get(order_id)
        assert (State.REQUESTED, person, target) == (
            order.state,
            order.customer_id,
            order.target.name,
        )
        self.expected[order_id] = Expected(person, target, State.REQUESTED, self.clock.now())

    def _estimate(self, order_id: str, hours: object, *, billing_down: bool) -> None:
        model = self.expected[order_id]
        refusal = self._refusal(order_id, Action.ESTIMATE, Actor.staff("sam"))
        parsed = as_hours(hours)
        if refusal is None and parsed is None:
            refusal = InvalidHours
        supplementary = model.state is State.IN_PROGRESS
        if refusal is None and supplementary and parsed is not None and parsed < model.overrun:
            refusal = InvalidHours  # a supplement covers at least the overrun (H4)
        self.billing.failing = billing_down  # the invoice then waits in the billing outbox
        try:
            order = self._attempt(
                order_id,
                Action.ESTIMATE,
                refusal,
                lambda: self.service.estimate(order_id, staff_id="sam", hours=hours),  # type: ignore[arg-type]  # any value, refusals included
            )
        finally:
            self.billing.failing = False
        if order is None:
            return
        assert parsed is not None
        owner = self.customers[model.owner]
        total = expected_total(
            parsed,
            maintained_site=model.target in owner.maintained_sites,
            supplementary=supplementary,
        )
        quote = order.ledger.quotes[-1]
        assert (total, self.clock.now() + QUOTE_VALIDITY) == (quote.total, quote.payable_until)
        if supplementary:
            assert quote is order.ledger.supplementary_quote
            model.supplement = Supplement(parsed, total, quote.payable_until)
        else:
            assert quote is order.ledger.current_quote
            model.quote_total, model.payable_until = total, quote.payable_until
            model.quote_hours = max(Decimal(1), parsed)
        self.invoices[invoice_key(order_id, len(order.ledger.quotes))] = total

    def _payment_refusal(self, order_id: str, money: Money) -> type[KomtetWorksError] | None:
        """What refuses a new payment (not a retried callback), in the order rules apply."""
        model = self.expected[order_id]
        if model.state is State.REQUESTED:
            return NoCurrentQuote
        refusal = self._refusal(order_id, Action.PAY, BILLING)
        if refusal is not None:
            return refusal
        total, until = model.quote_total, model.payable_until
        if model.supplement is not None:  # of works in progress (rule H5)
            total, until = model.supplement.total, model.supplement.payable_until
        assert until is not None
        if self.clock.now() > until:
            return QuoteExpired
        if money != total:
            return AmountMismatch
        return None

    def _pay(self, order_id: str, payment_id: str, amount: object) -> None:
        model = self.expected[order_id]

        def step() -> WorkOrder:
            return self.service.record_payment(order_id, payment_id=payment_id, amount=amount)  # type: ignore[arg-type]  # any value, refusals included

        try:
            money = Money.of(amount)  # type: ignore[arg-type]  # any value, refusals included
        except InvalidMoney:
            self._attempt(order_id, Action.PAY, InvalidMoney, step)
            return
        known = model.payments.get(payment_id)
        if known is None:
            refusal = self._payment_refusal(order_id, money)
            supplement = model.supplement
            if self._attempt(order_id, Action.PAY, refusal, step):
                model.payments[payment_id] = money
                if supplement is not None:  # rule H5: its hours are paid for
                    model.paid_hours += supplement.hours
                    model.supplement = None
                else:
                    assert model.quote_hours is not None
                    model.paid_hours += model.quote_hours
            else:  # kept unapplied and refunded at once (K2)
                self.unapplied[payment_id] = money
        elif known != money:
            self._attempt(order_id, Action.PAY, PaymentConflict, step)
        else:
            before = self.orders.get(order_id)
            assert before == step()
            assert before == self.orders.get(order_id)

    def _schedule(self, order_id: str, due: pendulum.DateTime | None, reason: str) -> None:
        refusal = self._refusal(order_id, Action.SCHEDULE, Actor.staff("sam"))
        before = self.orders.get(order_id)
        if refusal is None and before.state in WORKS_UNDER_WAY and not reason:
            refusal = InvalidInput  # rule S2: a revision while works run says why
        if refusal is None and due is not None and due <= self.clock.now():
            refusal = InvalidInput
        if refusal is None and due is not None and due < self._soonest(before):
            refusal = DueTooSoon
        order = self._attempt(
            order_id,
            Action.SCHEDULE,
            refusal,
            lambda: self.service.schedule(order_id, staff_id="sam", due=due, reason=reason),
        )
        if order is not None:
            assert order.works.due is not None
            assert self.clock.now() < order.works.due
            assert order.state is (
                before.state if before.state in WORKS_UNDER_WAY else State.SCHEDULED
            )

    def _soonest(self, order: WorkOrder) -> pendulum.DateTime:
        """Rule S1's soonest date: the billable hours from now, or from the works' start."""
        quote = order.ledger.current_quote
        assert quote is not None
        started = order.works.started_at if order.state in WORKS_UNDER_WAY else None
        calendar = self.service.calendar
        return finish_after(
            self.clock.now() if started is None else started,
            quote.billable_hours,
            zone=calendar.timezone,
            working_hours=calendar.working_hours,
        )

    def _cancel(self, order_id: str, someone: str | None, *, billing_down: bool) -> None:
        customer = self._customer(order_id, someone)
        by = Actor.customer(customer)
        self._refund_step(
            order_id,
            Action.CANCEL,
            self._refund_refusal(order_id, Action.CANCEL, by),
            lambda: self.service.cancel(order_id, customer_id=customer),
            billing_down=billing_down,
            restore_fails=False,
        )

    def _withdraw(self, order_id: str, reason: WithdrawalReason, *, billing_down: bool) -> None:
        """Rule W1: an unpaid order ends `withdrawn` at once; a paid one is refunded first."""
        model = self.expected[order_id]
        by = Actor.staff("sam")

        def step() -> WorkOrder:
            return self.service.withdraw(order_id, staff_id="sam", reason=reason)

        if model.state in {State.REQUESTED, State.ESTIMATED}:
            self._attempt(
                order_id, Action.WITHDRAW, self._refusal(order_id, Action.WITHDRAW, by), step
            )
            return
        self._refund_step(
            order_id,
            Action.WITHDRAW,
            self._refund_refusal(order_id, Action.WITHDRAW, by),
            step,
            billing_down=billing_down,
            restore_fails=False,
        )

    def _start(self, order_id: str, *, backup_fails: bool) -> None:
        model = self.expected[order_id]
        refusal = self._refusal(order_id, Action.START, Actor.staff("sam"))
        if refusal is None and self._busy(order_id):
            refusal = TargetBusy
        if refusal is None and backup_fails:
            refusal = BackupFailed
        self.backups.failing_snapshots = backup_fails
        try:
            order = self._attempt(
                order_id,
                Action.START,
                refusal,
                lambda: self.service.start(order_id, staff_id="sam"),
            )
        finally:
            self.backups.failing_snapshots = False
        if order is not None:
            model.started_at = self.clock.now()

    def _customer_change(self, order_id: str, someone: str | None) -> None:
        customer = self._customer(order_id, someone)
        refusal = self._refusal(order_id, Action.CUSTOMER_CHANGE, Actor.customer(customer))
        order = self._attempt(
            order_id,
            Action.CUSTOMER_CHANGE,
            refusal,
            lambda: self.service.record_customer_change(order_id, customer_id=customer),
        )
        if order is not None:
            model = self.expected[order_id]
            model.changed_during_works |= model.started_at is not None

    def _log_hours(self, order_id: str, hours: object) -> None:
        refusal = self._refusal(order_id, Action.LOG_HOURS, Actor.staff("sam"))
        parsed = as_hours(hours)
        if refusal is None and parsed is None:
            refusal = InvalidHours
        if refusal is None and self._supplementary and self.expected[order_id].overrun:
            refusal = SupplementaryEstimateNeeded  # rule H3
        order = self._attempt(
            order_id,
            Action.LOG_HOURS,
            refusal,
            lambda: self.service.log_hours(order_id, staff_id="sam", hours=hours),  # type: ignore[arg-type]  # any value, refusals included
        )
        if order is not None:
            assert parsed is not None
            self.expected[order_id].logged.append(parsed)

    def _complete(self, order_id: str, *, mail_down: bool = False) -> None:
        """Staff complete; with mail up the notice goes out and opens the window at once,
        with mail down it waits in the outbox and the order has no deadline (rule C1)."""
        refusal = self._refusal(order_id, Action.COMPLETE, Actor.staff("sam"))
        self.notifier.failing = mail_down
        try:
            order = self._attempt(
                order_id,
                Action.COMPLETE,
                refusal,
                lambda: self.service.complete(order_id, staff_id="sam"),
            )
        finally:
            self.notifier.failing = False
        if order is None:
            return
        model = self.expected[order_id]
        model.window_claims = 0
        self._refund_unused(order, model)
        if mail_down:
            model.deadline = None
            model.notice_retry_at = self.clock.now() + RelayPolicy().first_retry
        else:
            model.version += 1  # the notice sent, its send time recorded
            model.deadline = self.clock.now() + CLAIM_WINDOW
        assert model.deadline == order.works.claim_deadline

    def _relay(self) -> None:
        """The relay job, once the mail is up again: every waiting completion notice due
        goes out now and opens its window from now; the clock is past each order's steps."""
        waiting = {oid: m for oid, m in self.expected.items() if m.notice_retry_at is not None}
        latest = [self.clock.now(), *(m.last_at for m in waiting.values())]
        self.clock.set(max(latest))
        now = self.clock.now()
        due = [oid for oid, m in waiting.items() if m.notice_retry_at and m.notice_retry_at <= now]
        sent = relay(
            self.orders,
            self.notifier,
            clock=self.clock,
            after_sent=self.service.record_notice_sent,
        )
        assert len(due) == sent
        for oid in due:
            model = self.expected[oid]
            model.version += 1
            model.deadline, model.notice_retry_at, model.last_at = now + CLAIM_WINDOW, None, now

    def _report_failure(self, order_id: str, *, billing_down: bool, restore_fails: bool) -> None:
        by = Actor.staff("sam")
        self._refund_step(
            order_id,
            Action.FAIL,
            self._refund_refusal(order_id, Action.FAIL, by),
            lambda: self.service.report_failure(order_id, staff_id="sam"),
            billing_down=billing_down,
            restore_fails=restore_fails,
        )

    def _claim(
        self, order_id: str, someone: str | None, remedy: ClaimRemedy = ClaimRemedy.REFUND
    ) -> None:
        model = self.expected[order_id]
        customer = self._customer(order_id, someone)
        refusal = self._refusal(order_id, Action.CLAIM, Actor.customer(customer))
        if refusal is None:
            if model.window_claims >= 1:
                refusal = ClaimLimitReached
            elif model.deadline is None:
                refusal = NoticeNotSent
            elif self.clock.now() > model.deadline:
                refusal = ClaimWindowClosed
            elif model.changed_since_start():
                refusal = ClaimVoidCustomerChanges
        order = self._attempt(
            order_id,
            Action.CLAIM,
            refusal,
            lambda: self.service.file_claim(
                order_id, customer_id=customer, text="still broken", remedy=remedy
            ),
        )
        if order is not None:
            model.claims += 1
            model.window_claims += 1
            model.remedy = remedy

    def _resolve(
        self, order_id: str, outcome: ClaimOutcome, *, billing_down: bool, restore_fails: bool
    ) -> None:
        action = RESOLUTIONS[outcome]
        by = Actor.staff("sam")

        def step() -> WorkOrder:
            return self.service.resolve_claim(order_id, staff_id="sam", outcome=outcome)

        if outcome is ClaimOutcome.REFUND:
            self._refund_step(
                order_id,
                action,
                self._refund_refusal(order_id, action, by),
                step,
                billing_down=billing_down,
                restore_fails=restore_fails,
            )
        else:
            refusal = self._refusal(order_id, action, by)
            if refusal is None and outcome is ClaimOutcome.REJECT:
                refusal = ClaimMustBeHonoured  # the default policy (C5)
            elif refusal is None and self.expected[order_id].remedy is not ClaimRemedy.REWORK:
                refusal = ReworkNotAgreed
            if refusal is None and action is Action.REWORK and self._busy(order_id):
                refusal = TargetBusy
            self._attempt(order_id, action, refusal, step)

    def _busy(self, order_id: str) -> bool:
        """Rule T1: another order on this order's target is in works."""
        model = self.expected[order_id]
        return any(
            other_id != order_id and other.target == model.target and other.state in WORKS_UNDER_WAY
            for other_id, other in self.expected.items()
        )

    def _settled_restore(self, order_id: str, *, restore_fails: bool) -> None:
        """The restore a settlement of works made, or withheld (rule T3): another order's
        works on the target started after this backup; then a record follows the settlement."""
        model = self.expected[order_id]
        later = any(
            other_id != order_id
            and other.target == model.target
            and other.started_at is not None
            and model.started_at is not None
            and other.started_at > model.started_at
            for other_id, other in self.expected.items()
        )
        model.restored = not restore_fails and not later
        model.version += later

    def _settle(self, order_id: str, *, billing_down: bool, restore_fails: bool) -> None:
        """The settlement use case on its own: only a pending refund can be settled."""
        refusal = self._refusal(order_id, Action.SETTLE_REFUND, REFUNDS)
        self.billing.failing = billing_down
        self.backups.failing_restores = restore_fails
        try:
            if refusal is not None or not billing_down:
                self._attempt(
                    order_id,
                    Action.SETTLE_REFUND,
                    refusal,
                    lambda: self.service.settle_refunds(order_id),
                )
            else:
                with pytest.raises(BillingFailed):
                    self.service.settle_refunds(order_id)
        finally:
            self.billing.failing = False
            self.backups.failing_restores = False
        model = self.expected[order_id]
        if refusal is None and not billing_down:
            self._refund_everything(order_id)
            if model.state is State.REFUNDED:
                self._settled_restore(order_id, restore_fails=restore_fails)

    def _close(self, order_id: str, by: Actor) -> None:
        model = self.expected[order_id]
        refusal = self._refusal(order_id, Action.CLOSE, by)
        if refusal is None:
            if model.deadline is None:
                refusal = NoticeNotSent
            elif self.clock.now() <= model.deadline:
                refusal = ClaimWindowOpen
        if by == CLOSING_JOB:
            self._close_expired(order_id, refusal)
            return
        self._attempt(
            order_id, Action.CLOSE, refusal, lambda: self.service.close(order_id, staff_id=by.id)
        )

    def _close_expired(self, order_id: str, refusal: type[KomtetWorksError] | None) -> None:
        """The closing job closes exactly the orders the model says are due, this one too;
        a due order whose last step is later than the clock (it went back) is refused."""
        now = self.clock.now()
        due = [
            oid
            for oid, m in self.expected.items()
            if m.state is State.COMPLETED and m.deadline is not None and m.deadline < now
        ]
        closes = tuple(oid for oid in due if self.expected[oid].last_at <= now)
        late = {oid: OutOfOrder.code for oid in due if oid not in closes}
        assert (refusal is None) == (order_id in closes)
        report = self.service.close_expired()
        assert (closes, late) == (report.closed, dict(report.refused))
        for oid in closes:
            model = self.expected[oid]
            model.state, model.version, model.last_at = State.CLOSED, model.version + 1, now

    # --- rules ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.expected) < MAX_ORDERS)
    @rule(person=st.sampled_from(PEOPLE[:3]), choice=st.integers(min_value=0, max_value=2))
    def request(self, person: str, choice: int) -> None:
        customer = self.customers[person]
        owned = sorted(customer.sites | customer.servers)
        self._request(
            person, owned[choice % len(owned)], hosting_fault=False, problem="the site is down"
        )

    @precondition(lambda self: len(self.expected) < MAX_ORDERS)
    @rule(
        person=st.sampled_from(PEOPLE),
        name=st.sampled_from((*TARGETS, THIRD_PARTY)),
        hosting_fault=st.booleans(),
        problem=st.sampled_from(["the site is down", " "]),
    )
    def request_anything(self, person: str, name: str, hosting_fault: bool, problem: str) -> None:
        self._request(person, name, hosting_fault=hosting_fault, problem=problem)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK)
    def request_under_a_taken_id(self, pick: int) -> None:
        order_id = self._order_id(pick)
        model = self.expected[order_id]
        before = self.orders.get(order_id)
        with pytest.raises(OrderExists):
            self.service.request(
                order_id=order_id, customer_id=model.owner, target=model.target, problem="again"
            )
        assert before == self.orders.get(order_id)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, someone=SOMEONE, text=st.sampled_from(["only the front page", ""]))
    def supplement(self, pick: int, someone: str | None, text: str) -> None:
        order_id = self._order_id(pick)
        model = self.expected[order_id]
        customer = self._customer(order_id, someone)
        refusal = self._refusal(order_id, Action.SUPPLEMENT, Actor.customer(customer))
        if refusal is None and not text:
            refusal = InvalidInput
        order = self._attempt(
            order_id,
            Action.SUPPLEMENT,
            refusal,
            lambda: self.service.supplement(order_id, customer_id=customer, text=text),
        )
        if order is not None:
            model.quote_total = model.payable_until = None

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, hours=HOURS, billing_down=OUTAGE)
    def estimate(self, pick: int, hours: object, billing_down: bool) -> None:
        self._estimate(self._order_id(pick), hours, billing_down=billing_down)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, someone=SOMEONE)
    def decline(self, pick: int, someone: str | None) -> None:
        self._decline(self._order_id(pick), someone)

    def _decline(self, order_id: str, someone: str | None) -> None:
        customer = self._customer(order_id, someone)
        refusal = self._refusal(order_id, Action.DECLINE, Actor.customer(customer))
        if self._attempt(
            order_id,
            Action.DECLINE,
            refusal,
            lambda: self.service.decline(order_id, customer_id=customer),
        ):
            self.expected[order_id].supplement = None  # rule H5; the works stay stopped

    @precondition(lambda self: bool(self.expected))
    @rule(
        pick=PICK,
        amount=st.sampled_from(["exact", "exact", "short", "over", "garbage", "float", "tiny"]),
    )
    def pay(self, pick: int, amount: str) -> None:
        order_id = self._order_id(pick)
        model = self.expected[order_id]
        supplement = model.supplement
        total = (supplement.total if supplement else model.quote_total) or Money.of("1000.00")
        amounts: dict[str, object] = {
            "exact": str(total.amount),
            "short": total.amount - KOPECK,
            "over": total.amount + 1,
            "garbage": "a lot",
            "float": float(total.amount),
            "tiny": "0.001",
        }
        self.payment_ids += 1
        self._pay(order_id, f"pay-{self.payment_ids}", amounts[amount])

    @rule()
    def billing_relay(self) -> None:
        """The relay job carries out what the billing outbox holds: nothing is left."""
        relay_billing(self.orders, self.billing)
        assert [] == list(self.orders.pending_commands())

    @precondition(lambda self: any(m.payments for m in self.expected.values()))
    @rule(pick=PICK, same_amount=st.booleans())
    def payment_callback_again(self, pick: int, same_amount: bool) -> None:
        paid = [order_id for order_id, m in self.expected.items() if m.payments]
        order_id = paid[pick % len(paid)]
        # the first payment or a supplementary one (H5): each is a callback that may repeat
        payments = list(self.expected[order_id].payments.items())
        payment_id, amount = payments[pick % len(payments)]
        self._pay(order_id, payment_id, amount.amount if same_amount else amount.amount + 1)

    @precondition(lambda self: bool(self.expected))
    @rule(
        pick=PICK,
        due=st.sampled_from(["suggested", "next week", "now", "in an hour"]),
        reason=st.sampled_from(["", "the database is larger than it seemed"]),
    )
    def schedule(self, pick: int, due: str, reason: str) -> None:
        dues = {
            "suggested": None,
            "next week": self.clock.now().add(weeks=1),
            "now": self.clock.now(),
            "in an hour": self.clock.now().add(hours=1),
        }
        self._schedule(self._order_id(pick), dues[due], reason)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, someone=SOMEONE, billing_down=OUTAGE)
    def cancel(self, pick: int, someone: str | None, billing_down: bool) -> None:
        self._cancel(self._order_id(pick), someone, billing_down=billing_down)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, reason=st.sampled_from(WithdrawalReason), billing_down=OUTAGE)
    def withdraw(self, pick: int, reason: WithdrawalReason, billing_down: bool) -> None:
        self._withdraw(self._order_id(pick), reason, billing_down=billing_down)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, backup_fails=OUTAGE)
    def start(self, pick: int, backup_fails: bool) -> None:
        self._start(self._order_id(pick), backup_fails=backup_fails)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, someone=SOMEONE)
    def customer_change(self, pick: int, someone: str | None) -> None:
        self._customer_change(self._order_id(pick), someone)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, hours=HOURS)
    def log_hours(self, pick: int, hours: object) -> None:
        self._log_hours(self._order_id(pick), hours)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, mail_down=OUTAGE)
    def complete(self, pick: int, mail_down: bool) -> None:
        self._complete(self._order_id(pick), mail_down=mail_down)

    @precondition(lambda self: any(m.notice_retry_at for m in self.expected.values()))
    @rule(wait=st.sampled_from([timedelta(0), RelayPolicy().first_retry]))
    def relay_sends_what_waits(self, wait: timedelta) -> None:
        """The mail is up again; the relay job runs now or once the retry is due."""
        self.clock.advance(wait)
        self._relay()

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, billing_down=OUTAGE, restore_fails=OUTAGE)
    def report_failure(self, pick: int, billing_down: bool, restore_fails: bool) -> None:
        self._report_failure(
            self._order_id(pick), billing_down=billing_down, restore_fails=restore_fails
        )

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, billing_down=OUTAGE, restore_fails=OUTAGE)
    def settle_refunds(self, pick: int, billing_down: bool, restore_fails: bool) -> None:
        self._settle(self._order_id(pick), billing_down=billing_down, restore_fails=restore_fails)

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, someone=SOMEONE, remedy=st.sampled_from(ClaimRemedy))
    def file_claim(self, pick: int, someone: str | None, remedy: ClaimRemedy) -> None:
        self._claim(self._order_id(pick), someone, remedy)

    @precondition(lambda self: bool(self.expected))
    @rule(
        pick=PICK,
        outcome=st.sampled_from(ClaimOutcome),
        billing_down=OUTAGE,
        restore_fails=OUTAGE,
    )
    def resolve_claim(
        self, pick: int, outcome: ClaimOutcome, billing_down: bool, restore_fails: bool
    ) -> None:
        self._resolve(
            self._order_id(pick),
            outcome,
            billing_down=billing_down,
            restore_fails=restore_fails,
        )

    @precondition(lambda self: bool(self.expected))
    @rule(pick=PICK, who=st.sampled_from(["staff", "closing job"]))
    def close(self, pick: int, who: str) -> None:
        order_id = self._order_id(pick)
        self._close(order_id, Actor.staff("sam") if who == "staff" else CLOSING_JOB)

    @precondition(lambda self: bool(self.expected))
    @rule(
        pick=PICK,
        solved=st.sampled_from([True, True, False]),
        meddle=st.sampled_from([False, False, True]),
        claim=st.sampled_from(["at once", "at the deadline", "too late", "never"]),
        outcome=st.sampled_from(ClaimOutcome),
        steps=st.integers(min_value=1, max_value=8),
    )
    def move_along(
        self,
        *,
        pick: int,
        solved: bool,
        meddle: bool,
        claim: str,
        outcome: ClaimOutcome,
        steps: int,
    ) -> None:
        """Take the next steps of an order's ordinary path, as its people would."""
        order_id = self._order_id(pick)
        model = self.expected[order_id]
        for _ in range(steps):
            version = model.version
            self._next_step(order_id, solved=solved, meddle=meddle, claim=claim, outcome=outcome)
            if version == model.version:
                return

    def _next_step(
        self, order_id: str, *, solved: bool, meddle: bool, claim: str, outcome: ClaimOutcome
    ) -> None:
        """The step an order's people would take next, with the right actor and input."""
        model = self.expected[order_id]
        state = model.state
        if state is State.REQUESTED:
            self._estimate(order_id, "2", billing_down=False)
        elif state is State.ESTIMATED:
            assert model.quote_total is not None
            self.payment_ids += 1
            self._pay(order_id, f"pay-{self.payment_ids}", model.quote_total.amount)
        elif state is State.PAID:
            self._schedule(order_id, None, "")
        elif state is State.SCHEDULED:
            self._start(order_id, backup_fails=False)
        elif state is State.IN_PROGRESS and not model.logged:
            self._log_hours(order_id, "0.75")  # fewer than paid: unused hours (H2)
        elif state is State.IN_PROGRESS:
            self._works_go_on(order_id, solved=solved, meddle=meddle)
        elif state is State.COMPLETED:
            self._after_completion(order_id, claim=claim, outcome=outcome)
        elif state is State.CLAIMED:
            self._resolve(order_id, outcome, billing_down=False, restore_fails=False)
        elif state in {State.REFUNDING, State.CANCELLING}:
            self._settle(order_id, billing_down=False, restore_fails=False)

    def _after_completion(self, order_id: str, *, claim: str, outcome: ClaimOutcome) -> None:
        """A waiting notice is sent once the relay retries it; then the customer claims, or
        the closing job closes the order when its window ended."""
        model = self.expected[order_id]
        if model.deadline is None:
            self.clock.set(max(self.clock.now(), model.notice_retry_at or self.clock.now()))
            self._relay()
        elif claim != "never":
            # the customer asks for rework when staff will rework: the agreed path (C5)
            self._remedy_for = (
                ClaimRemedy.REWORK if outcome is ClaimOutcome.REWORK else ClaimRemedy.REFUND
            )
            self._claim_when(order_id, claim)
        else:
            self._close_when_due(order_id)

    def _works_go_on(self, order_id: str, *, solved: bool, meddle: bool) -> None:
        """Under the supplementary-estimate policy staff overrun the 2 h the path estimates
        once, estimate the overrun and an hour more, and the customer pays it, or declines
        it (a meddling one) or staff end the works with it open, with what was done (H3-H5);
        then, or under the fixed price at once, the works end."""
        model = self.expected[order_id]
        if model.supplement is not None and meddle:
            if not solved:
                self._decline(order_id, None)
            self._finish(order_id, solved=solved, meddle=False)
        elif model.supplement is not None:
            self.payment_ids += 1
            self._pay(order_id, f"pay-{self.payment_ids}", model.supplement.total.amount)
        elif self._supplementary and model.overrun:
            self._estimate(order_id, str(model.overrun + 1), billing_down=False)
        elif self._supplementary and len(model.logged) < 2:
            self._log_hours(order_id, "1.5")
        else:
            self._finish(order_id, solved=solved, meddle=meddle)

    def _finish(self, order_id: str, *, solved: bool, meddle: bool) -> None:
        """Staff complete or give up; a meddling customer changes the target first."""
        if meddle:
            self._customer_change(order_id, None)
        if solved:
            self._complete(order_id, mail_down=meddle)
        else:
            self._report_failure(order_id, billing_down=False, restore_fails=False)

    def _claim_when(self, order_id: str, when: str) -> None:
        """The customer claims at once, at the deadline instant, or a microsecond after it."""
        deadline = self.expected[order_id].deadline
        assert deadline is not None
        offsets = {"at the deadline": timedelta(0), "too late": timedelta(microseconds=1)}
        if when in offsets:
            self.clock.set(max(self.clock.now(), deadline + offsets[when]))
        self._claim(order_id, None, self._remedy_for)

    def _close_when_due(self, order_id: str) -> None:
        """The closing job tries now, at the deadline instant, and a microsecond after it."""
        model = self.expected[order_id]
        deadline = model.deadline
        assert deadline is not None
        for at in (self.clock.now(), deadline, deadline + timedelta(microseconds=1)):
            if model.state is State.COMPLETED:
                self.clock.set(max(self.clock.now(), at))
                self._close(order_id, CLOSING_JOB)

    @rule(
        by=st.one_of(
            st.integers(min_value=0, max_value=5 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
            st.sampled_from(
                [timedelta(microseconds=1), CLAIM_WINDOW, QUOTE_VALIDITY, timedelta(days=30)]
            ),
        )
    )
    def time_passes(self, by: timedelta) -> None:
        self.clock.advance(by)

    @precondition(lambda self: any(m.deadline for m in self.expected.values()))
    @rule(
        pick=PICK,
        offset=st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(seconds=-1)]),
    )
    def time_reaches_a_claim_deadline(self, pick: int, offset: timedelta) -> None:
        deadlines = [m.deadline for m in self.expected.values() if m.deadline is not None]
        at = deadlines[pick % len(deadlines)] + offset
        self.clock.set(max(at, self.clock.now()))

    @precondition(lambda self: any(m.payable_until for m in self.expected.values()))
    @rule(pick=PICK, offset=st.sampled_from([timedelta(0), timedelta(microseconds=1)]))
    def time_reaches_a_quote_expiry(self, pick: int, offset: timedelta) -> None:
        ends = [m.payable_until for m in self.expected.values() if m.payable_until is not None]
        ends += [m.supplement.payable_until for m in self.expected.values() if m.supplement]
        at = ends[pick % len(ends)] + offset
        self.clock.set(max(at, self.clock.now()))

    @rule(by=st.integers(min_value=1, max_value=600).map(lambda s: timedelta(seconds=s)))
    def clock_goes_back(self, by: timedelta) -> None:
        self.clock.set(self.clock.now() - by)

    @rule(site=st.sampled_from(sorted(SITE_OWNERS)))
    def subscription_changes(self, site: str) -> None:
        owner = self.customers[SITE_OWNERS[site]]
        changed = attrs.evolve(owner, maintained_sites=owner.maintained_sites ^ {site})
        self.customers[owner.id] = changed
        self.directory.put(changed)

    # --- invariants ----------------------------------------------------------------------

    def _stored(self) -> list[tuple[WorkOrder, Expected]]:
        return [(self.orders.get(order_id), model) for order_id, model in self.expected.items()]

    @invariant()
    def orders_are_as_the_model_expects(self) -> None:
        """Each stored order has the state and version the model predicts; version == events."""
        for order, model in self._stored():
            assert (model.state, model.version, model.version) == (
                order.state,
                order.version,
                len(self.orders.history(order.id)),
            )
            assert (model.owner, model.target) == (order.customer_id, order.target.name)

    @invariant()
    def spent_hours_are_the_hours_logged(self) -> None:
        """Rule H1: the log (the history's entries) is append-only and the order's hours
        spent are its sum."""
        for order, model in self._stored():
            entries = recorded.time_entries(self.orders.history(order.id))
            assert [entry.hours for entry in entries] == model.logged
            assert sum(model.logged, Decimal(0)) == order.works.spent_hours

    @invariant()
    def the_works_never_run_on_hours_not_paid_for(self) -> None:
        """Rules H3-H5: the hours paid for are the model's; under the supplementary-estimate
        policy every entry but the last was logged within them; an open supplementary quote
        is the model's."""
        for order, model in self._stored():
            assert model.paid_hours == order.ledger.paid_hours
            if self._supplementary:
                assert sum(model.logged[:-1], Decimal(0)) <= order.ledger.paid_hours
            quote, supplement = order.ledger.supplementary_quote, model.supplement
            assert (quote is None) is (supplement is None)
            if quote is not None and supplement is not None:
                assert (supplement.total, supplement.payable_until) == (
                    quote.total,
                    quote.payable_until,
                )
                assert State.IN_PROGRESS is order.state

    @invariant()
    def replaying_the_events_rebuilds_each_order(self) -> None:
        """Replaying an order's events rebuilds exactly the stored order."""
        for order, _ in self._stored():
            assert order == WorkOrder.replay(self.orders.history(order.id))

    @invariant()
    def every_event_follows_the_transition_table(self) -> None:
        """Each event's (before, action) is in TRANSITIONS, by an allowed actor, in time order."""
        for order, model in self._stored():
            first, *rest = self.orders.history(order.id)
            assert (OrderRequested, None) == (type(first), first.before)
            previous = first
            for step in self.orders.history(order.id):
                if isinstance(step, RestoreWithheld):  # a record beside the lifecycle (T3)
                    assert step.before is step.after is State.REFUNDED
                    continue
                action = EVENT_ACTIONS[type(step)]
                assert TRANSITIONS.get((step.before, action)) is step.after
                assert step.actor.kind in ACTORS[action]
                assert step.actor.kind is not ActorKind.CUSTOMER or step.actor.id == model.owner
            for step in rest:
                assert previous.after is step.before
                assert previous.at <= step.at
                previous = step
            assert self.orders.history(order.id)[-1].after is order.state

    @invariant()
    def paid_is_the_sum_of_accepted_payments(self) -> None:
        """Paid is the sum of accepted payments, each payment id once, as the model says."""
        for order, model in self._stored():
            ledger = order.ledger
            assert sum(model.payments.values(), Money.zero()) == ledger.paid
            assert sum((p.amount for p in ledger.payments), Money.zero()) == ledger.paid
            ids = [p.id for p in ledger.payments]
            assert len(set(ids)) == len(ids)
            assert sorted(model.payments) == sorted(ids)

    @invariant()
    def only_the_current_quote_was_paid_exactly_and_in_time(self) -> None:
        """Every payment matched the then current quote's total, before it expired."""
        for order, _ in self._stored():
            current = None
            for step in self.orders.history(order.id):
                if isinstance(step, EstimateIssued):
                    current = step.quote
                elif isinstance(step, RequestSupplemented | QuoteDeclined):
                    current = None
                elif isinstance(step, WorksCompleted | WorksFailed):
                    current = None  # an open supplementary quote ends with the works (H5)
                elif isinstance(step, PaymentReceived):
                    assert current is not None
                    assert current.total == step.payment.amount
                    assert step.at <= current.payable_until
                    assert step.before in {State.ESTIMATED, State.IN_PROGRESS}
                    current = None  # each quote is paid once

    @invariant()
    def every_quote_was_invoiced_once(self) -> None:
        """Each quote's invoice is in billing once, for its total, or waits in the outbox."""
        expected = {
            invoice_key(order.id, number): quote.total
            for order, _ in self._stored()
            for number, quote in enumerate(order.ledger.quotes, start=1)
        }
        assert self.invoices == expected
        billed = {key: i.amount for key, i in self.billing.invoices.items()}
        waiting = {c.id for c in self.orders.pending_commands(10**6)} & set(expected)
        assert set() == waiting & set(billed)
        assert expected == billed | {key: expected[key] for key in waiting}

    @invariant()
    def refunds_never_exceed_payments(self) -> None:
        """Refunds never exceed payments: a payment's unused hours at most once (H2), the rest
        at most once, each as billing made it; the sum never beyond the payment (I4)."""
        recorded: dict[str, Money] = {}
        parts: dict[str, Money] = {}
        for order, model in self._stored():
            ledger = order.ledger
            paid = {p.id: p.amount for p in ledger.payments}
            full = [r for r in ledger.refunds if r.reference]
            unused = {r.payment_id: r.amount for r in ledger.refunds if not r.reference}
            assert len({r.payment_id for r in full}) == len(full)
            assert len(unused) == len(ledger.refunds) - len(full)
            assert ledger.refunded <= ledger.paid
            assert model.refunded == {r.payment_id for r in full}
            assert model.unused == unused
            for refund in full:
                receipt = self.billing.refunded[refund_key(refund.payment_id)]
                left = paid[refund.payment_id] - unused.get(refund.payment_id, Money.zero())
                assert (left, receipt.reference) == (refund.amount, refund.reference)
                recorded[refund_key(refund.payment_id)] = refund.amount
            for payment_id, amount in unused.items():
                parts[unused_hours_key(payment_id)] = amount
            everything = order.state in {State.CANCELLED, State.REFUNDED, State.WITHDRAWN}
            part = sum(unused.values(), Money.zero())
            assert (ledger.paid if everything else part) == ledger.refunded
        assert self.refunds == recorded
        unapplied = {refund_key(payment_id): money for payment_id, money in self.unapplied.items()}
        waiting = {c.id for c in self.orders.pending_commands(10**6)}
        made = {key: r.amount for key, r in self.billing.refunded.items()}
        assert {k: v for k, v in (recorded | parts | unapplied).items() if k not in waiting} == made

    @invariant()
    def no_works_without_a_verified_backup_taken_first(self) -> None:
        """Orders past the start have a verified backup taken no later than the start."""
        for order, model in self._stored():
            works = order.works
            if order.state not in AFTER_START:
                assert (None, None) == (works.backup, works.started_at)
                continue
            assert works.backup is not None
            assert works.started_at is not None
            assert works.backup.verified
            assert works.backup.taken_at <= works.started_at
            assert model.started_at == works.started_at
            assert order.target.name == self.backups.snapshots[works.backup.reference][0]
            if order.state is State.REFUNDED:
                assert model.restored is works.restored
                assert works.restored is (works.backup.reference in self.backups.restored)

    @invariant()
    def each_window_is_its_notices_send_time_plus_the_policy_window(self) -> None:
        """Each completion notice recorded once, after its completion, at the notifier's send
        time; each window is that time + 72 h; no order closes before its notice went out
        and its window ended."""
        for order, model in self._stored():
            notices = [
                e for e in self.orders.history(order.id) if isinstance(e, CompletionNoticeSent)
            ]
            sent = [
                at
                for at, message in self.notifier.sent
                if message.order_id == order.id and message.kind is MessageKind.WORKS_COMPLETED
            ]
            assert sent == [e.sent_at for e in notices]
            deadline = None
            for step in self.orders.history(order.id):
                if isinstance(step, WorksCompleted):
                    deadline = None
                elif isinstance(step, CompletionNoticeSent):
                    assert deadline is None  # once per completion
                    assert step.sent_at + CLAIM_WINDOW == step.claim_deadline
                    deadline = step.claim_deadline
                elif isinstance(step, OrderClosed):
                    assert deadline is not None
                    assert deadline < step.at
            assert deadline == order.works.claim_deadline == model.deadline

    @invariant()
    def claims_only_inside_the_window_and_without_changes(self) -> None:
        """Claims were filed only inside their window, one per window (max_claims 1), with no
        change recorded after the start step; none was rejected, none reworked unasked.
        The order's state keeps the latest claim as its history tells it."""
        for order, model in self._stored():
            deadline = None
            started = None
            changed_after_start = False
            window_claims = 0
            remedy = None
            history = self.orders.history(order.id)
            for step in history:
                if isinstance(step, WorksStarted):
                    started = step.at
                elif isinstance(step, CustomerChangeRecorded):
                    changed_after_start |= started is not None
                elif isinstance(step, WorksCompleted):
                    deadline = None
                    window_claims = 0
                elif isinstance(step, CompletionNoticeSent):
                    deadline = step.claim_deadline
                elif isinstance(step, ClaimFiled):
                    window_claims += 1
                    remedy = step.remedy
                    assert deadline is not None
                    assert started is not None
                    assert step.at <= deadline
                    assert not changed_after_start
                    assert window_claims <= 1
                elif isinstance(step, ReworkStarted):
                    assert ClaimRemedy.REWORK is remedy
                assert not isinstance(step, ClaimRejected)
            assert window_claims == order.works.window_claims
            claims = recorded.claims(history)
            assert model.claims == len(claims)
            assert claims[-1:] == (() if order.works.claim is None else (order.works.claim,))

    @invariant()
    def the_customer_is_told_when_works_start(self) -> None:
        """Every start of works sent the customer the message to make no changes."""
        for order, model in self._stored():
            started = sum(isinstance(e, WorksStarted) for e in self.orders.history(order.id))
            told = [
                message.customer_id
                for _, message in self.notifier.sent
                if message.order_id == order.id and message.kind is MessageKind.WORKS_STARTING
            ]
            assert [model.owner] * started == told

    @invariant()
    def terminal_orders_never_change(self) -> None:
        """An order in a terminal state stays exactly as it was first seen there."""
        for order, _ in self._stored():
            if order.state in TERMINAL:
                assert self.final.setdefault(order.id, order) == order


@pytest.mark.rule(
    "L1",
    "L2",
    "L3",
    "L4",
    "L5",
    "L6",
    "L7",
    "L8",
    "L10",
    "L11",
    "L12",
    "L13",
    "L14",
    "I1",
    "I2",
    "I3",
    "I4",
    "C1",
    "C2",
    "C3",
    "C4",
    "E1",
    "E2",
    "E3",
    "P4",
    "P5",
    "H1",
    "W1",
    "H2",
)
def test_any_sequence_of_use_cases_keeps_every_invariant() -> None:
    """Random steps by anyone at any time are taken or refused as predicted; invariants hold."""
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=200,
            stateful_step_count=100,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
