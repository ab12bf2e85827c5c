"""Work orders in any state, built through the domain with explicit instants.

`take` performs any action of the lifecycle with plausible arguments, so contract tests,
state machines and race tests can drive orders without restating the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import attrs
import pendulum

from komtet_works.domain.customers import Customer
from komtet_works.domain.events import Actor, Event
from komtet_works.domain.ledger import Payment, Refund
from komtet_works.domain.lifecycle import BEFORE_THE_WORKS, Action, State
from komtet_works.domain.money import ExactNumber
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.domain.pricing import Tariff
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import Backup, ClaimOutcome, ClaimRemedy, WithdrawalReason
from komtet_works.use_cases import BILLING, CLOSING_JOB, NOTICE_RECORDER, REFUNDS

START: Final = pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow")
STAFF: Final = Actor.staff("staff-1")
POLICY: Final = Policy()
#: A host whose terms let staff reject claims (C5), so the walk reaches every transition.
REJECTING: Final = Policy(claims_may_be_rejected=True)
#: A host that asks for supplementary estimates (D-OVERRUN), so the walk reaches the
#: supplementary quotes of works in progress (rules H3-H5).
SUPPLEMENTARY: Final = Policy(spent_hours=SpentHours.SUPPLEMENTARY_ESTIMATE)
_OUTCOMES: Final = {
    Action.ACCEPT_CLAIM: ClaimOutcome.REFUND,
    Action.REJECT_CLAIM: ClaimOutcome.REJECT,
    Action.REWORK: ClaimOutcome.REWORK,
}
TARIFF: Final = Tariff()

#: The works completed and their notice sent: the claim window open.
_COMPLETED: Final = (
    *(Action.ESTIMATE, Action.PAY, Action.SCHEDULE, Action.START),
    *(Action.COMPLETE, Action.NOTICE_SENT),
)

#: The actions that lead from a new order to each state (one route per state).
ROUTES: Final[dict[State, tuple[Action, ...]]] = {
    State.REQUESTED: (),
    State.ESTIMATED: (Action.ESTIMATE,),
    State.DECLINED: (Action.ESTIMATE, Action.DECLINE),
    State.PAID: (Action.ESTIMATE, Action.PAY),
    State.CANCELLING: (Action.ESTIMATE, Action.PAY, Action.CANCEL),
    State.CANCELLED: (Action.ESTIMATE, Action.PAY, Action.CANCEL, Action.SETTLE_REFUND),
    State.SCHEDULED: (Action.ESTIMATE, Action.PAY, Action.SCHEDULE),
    State.IN_PROGRESS: (Action.ESTIMATE, Action.PAY, Action.SCHEDULE, Action.START),
    State.REFUNDING: (Action.ESTIMATE, Action.PAY, Action.SCHEDULE, Action.START, Action.FAIL),
    State.REFUNDED: (
        *(Action.ESTIMATE, Action.PAY, Action.SCHEDULE, Action.START, Action.FAIL),
        Action.SETTLE_REFUND,
    ),
    State.COMPLETED: _COMPLETED,
    State.CLAIMED: (*_COMPLETED, Action.CLAIM),
    State.CLOSED: (*_COMPLETED, Action.CLOSE),
    State.WITHDRAWING: (Action.ESTIMATE, Action.PAY, Action.WITHDRAW),
    State.WITHDRAWN: (Action.ESTIMATE, Action.PAY, Action.WITHDRAW, Action.SETTLE_REFUND),
}


def customer_for(customer_id: str) -> Customer:
    return Customer(customer_id, sites=frozenset({"example.org"}), servers=frozenset({"vps-1"}))


def requested(
    order_id: str = "wo-1",
    *,
    customer_id: str = "cust-1",
    problem: str = "the site answers 500 since the last deploy",
    at: pendulum.DateTime = START,
) -> WorkOrder:
    return WorkOrder.request(
        order_id=order_id,
        customer=customer_for(customer_id),
        target="example.org",
        problem=problem,
        at=at,
    )


def _refunds(order: WorkOrder) -> tuple[Refund, ...]:
    return tuple(
        Refund(due.payment_id, due.amount, f"rf-{due.payment_id}")
        for due in order.ledger.refunds_due()
    )


# one case per action of the lifecycle: the length is the table's
def take(  # noqa: C901, PLR0911, PLR0912
    order: WorkOrder,
    action: Action,
    at: pendulum.DateTime,
    *,
    text: str = "",
    hours: ExactNumber = "2.5",
) -> WorkOrder:
    """`order` after `action` at `at`, by the actor the lifecycle allows; refusals raise."""
    customer = Actor.customer(order.customer_id)
    words = text or f"{action.value} at {at.isoformat()}"
    match action:
        case Action.SUPPLEMENT:
            return order.supplement(by=customer, at=at, text=words)
        case Action.ESTIMATE:
            return order.estimate(
                by=STAFF,
                at=at,
                hours=hours,
                tariff=TARIFF,
                customer=customer_for(order.customer_id),
                policy=SUPPLEMENTARY,
            )
        case Action.DECLINE:
            return order.decline(by=customer, at=at, note=text)
        case Action.PAY:
            quote = order.ledger.supplementary_quote or order.ledger.current_quote
            amount = quote.total if quote is not None else TARIFF.hourly_rate
            return order.pay(
                by=BILLING,
                at=at,
                payment=Payment(f"pay-{order.id}-{order.version}", amount, at),
                policy=POLICY,
                tariff=TARIFF,
                customer=customer_for(order.customer_id),
            )
        case Action.SCHEDULE:
            return order.schedule(by=STAFF, at=at, due=at + timedelta(days=2), reason=words)
        case Action.CANCEL:
            return order.cancel(by=customer, at=at, policy=POLICY)
        case Action.START:
            return order.start(by=STAFF, at=at, backup=Backup(f"bk-{order.id}", at, verified=True))
        case Action.CUSTOMER_CHANGE:
            return order.record_customer_change(by=customer, at=at, note=text)
        case Action.COMPLETE:
            return order.complete(by=STAFF, at=at)
        case Action.NOTICE_SENT:
            return order.record_notice_sent(by=NOTICE_RECORDER, at=at, sent_at=at, policy=POLICY)
        case Action.FAIL:
            return order.fail(by=STAFF, at=at, note=text)
        case Action.CLAIM:
            # the customer asks for rework, so every decision of the table stays open
            return order.claim(
                by=customer, at=at, text=words, policy=POLICY, remedy=ClaimRemedy.REWORK
            )
        case Action.ACCEPT_CLAIM | Action.REJECT_CLAIM | Action.REWORK:
            return order.resolve_claim(
                by=STAFF, at=at, outcome=_OUTCOMES[action], policy=REJECTING, note=text
            )
        case Action.SETTLE_REFUND:
            restored = None if order.state in BEFORE_THE_WORKS else True
            return order.settle_refunds(
                by=REFUNDS, at=at, refunds=_refunds(order), restored=restored
            )
        case Action.CLOSE:
            return order.close(by=CLOSING_JOB, at=at)
        case Action.WITHDRAW:
            return order.withdraw(by=STAFF, at=at, reason=WithdrawalReason.OUT_OF_SCOPE, note=text)
        case Action.LOG_HOURS:
            return order.log_hours(by=STAFF, at=at, hours=hours, policy=SUPPLEMENTARY, note=text)
        case Action.REQUEST:  # pragma: no cover - a new order is `requested`
            raise ValueError("an existing order cannot be requested")


#: How long each step of `walk` waits: an hour, or past the claim window before closing.
def _pause(action: Action) -> timedelta:
    return (
        POLICY.claim_window + timedelta(hours=1) if action is Action.CLOSE else timedelta(hours=1)
    )


def notified(
    order: WorkOrder,
    *,
    at: pendulum.DateTime,
    sent_at: pendulum.DateTime | None = None,
    policy: Policy = POLICY,
) -> WorkOrder:
    """`order` (in progress) completed at `at`, its notice sent at `sent_at` (default: at
    once, never earlier) and recorded then."""
    sent = at if sent_at is None else sent_at
    done = order.complete(by=STAFF, at=at)
    return done.record_notice_sent(by=NOTICE_RECORDER, at=sent, sent_at=sent, policy=policy)


def at_version(history: Sequence[Event], version: int) -> WorkOrder:
    """The order `history` describes at `version`, its last step new: what a process that
    loaded it at the version before and took that step has to save."""
    order = WorkOrder.replay(history[:version])
    return attrs.evolve(order, new_events=(history[version - 1],))


def walk(order: WorkOrder, to: State) -> WorkOrder:
    """`order` (new) taken along `ROUTES[to]`, one step an hour after the last."""
    for action in ROUTES[to]:
        order = take(order, action, order.last_step_at + _pause(action))
    return order


def in_state(
    state: State,
    order_id: str = "wo-1",
    *,
    customer_id: str = "cust-1",
    at: pendulum.DateTime = START,
) -> WorkOrder:
    return walk(requested(order_id, customer_id=customer_id, at=at), state)
