"""The lifecycle of a work order as data: states, actions, and the one transition table.

Everything else (the state diagram in docs/spec.md, the guards of `WorkOrder`, the
stateful tests) reads `TRANSITIONS`; nothing restates it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


class _FastEnum(enum.Enum):
    """An enum hashed by identity: members are singletons, and Enum's own ``__hash__``
    (hashing the name in Python) would dominate the transition-table lookups."""

    __hash__ = object.__hash__


class State(_FastEnum):
    REQUESTED = "requested"
    ESTIMATED = "estimated"
    DECLINED = "declined"
    PAID = "paid"
    SCHEDULED = "scheduled"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLAIMED = "claimed"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    CLOSED = "closed"
    WITHDRAWING = "withdrawing"
    WITHDRAWN = "withdrawn"


class Action(_FastEnum):
    REQUEST = "request"
    SUPPLEMENT = "supplement"
    ESTIMATE = "estimate"
    DECLINE = "decline"
    PAY = "pay"
    SCHEDULE = "schedule"
    CANCEL = "cancel"
    START = "start"
    CUSTOMER_CHANGE = "customer_change"
    COMPLETE = "complete"
    NOTICE_SENT = "notice_sent"
    FAIL = "fail"
    CLAIM = "claim"
    ACCEPT_CLAIM = "accept_claim"
    REJECT_CLAIM = "reject_claim"
    REWORK = "rework"
    SETTLE_REFUND = "settle_refund"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    LOG_HOURS = "log_hours"


class ActorKind(_FastEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


S = State
A = Action

#: (state, action) -> state after.  `None` stands for "no order yet".
#:
#: A refund is two steps: FAIL, ACCEPT_CLAIM, CANCEL and WITHDRAW (of a paid order) commit
#: the intent (`refunding`, `cancelling`, `withdrawing`) before any money moves;
#: SETTLE_REFUND records the refunds and the restore once they are done.  The pending states
#: take no other step, customer changes included: only the settlement may follow.
TRANSITIONS: Final[Mapping[tuple[State | None, Action], State]] = MappingProxyType(
    {
        (None, A.REQUEST): S.REQUESTED,
        (S.REQUESTED, A.SUPPLEMENT): S.REQUESTED,
        (S.REQUESTED, A.ESTIMATE): S.ESTIMATED,
        (S.ESTIMATED, A.SUPPLEMENT): S.REQUESTED,
        (S.ESTIMATED, A.ESTIMATE): S.ESTIMATED,
        (S.ESTIMATED, A.DECLINE): S.DECLINED,
        (S.ESTIMATED, A.PAY): S.PAID,
        (S.PAID, A.SCHEDULE): S.SCHEDULED,
        (S.SCHEDULED, A.SCHEDULE): S.SCHEDULED,
        (S.IN_PROGRESS, A.SCHEDULE): S.IN_PROGRESS,  # rule S2: a revision while works run
        (S.PAID, A.CANCEL): S.CANCELLING,
        (S.SCHEDULED, A.CANCEL): S.CANCELLING,
        (S.CANCELLING, A.SETTLE_REFUND): S.CANCELLED,
        (S.SCHEDULED, A.START): S.IN_PROGRESS,
        (S.IN_PROGRESS, A.COMPLETE): S.COMPLETED,
        (S.IN_PROGRESS, A.LOG_HOURS): S.IN_PROGRESS,
        # only under the supplementary-estimate policy (`SUPPLEMENTARY_STEPS`)
        (S.IN_PROGRESS, A.ESTIMATE): S.IN_PROGRESS,
        (S.IN_PROGRESS, A.PAY): S.IN_PROGRESS,
        (S.IN_PROGRESS, A.DECLINE): S.IN_PROGRESS,
        (S.COMPLETED, A.NOTICE_SENT): S.COMPLETED,
        (S.IN_PROGRESS, A.FAIL): S.REFUNDING,
        (S.COMPLETED, A.CLAIM): S.CLAIMED,
        (S.CLAIMED, A.ACCEPT_CLAIM): S.REFUNDING,
        (S.REFUNDING, A.SETTLE_REFUND): S.REFUNDED,
        (S.CLAIMED, A.REJECT_CLAIM): S.COMPLETED,
        (S.CLAIMED, A.REWORK): S.IN_PROGRESS,
        (S.COMPLETED, A.CLOSE): S.CLOSED,
        (S.REQUESTED, A.WITHDRAW): S.WITHDRAWN,
        (S.ESTIMATED, A.WITHDRAW): S.WITHDRAWN,
        (S.PAID, A.WITHDRAW): S.WITHDRAWING,
        (S.SCHEDULED, A.WITHDRAW): S.WITHDRAWING,
        (S.WITHDRAWING, A.SETTLE_REFUND): S.WITHDRAWN,
        **{
            (state, A.CUSTOMER_CHANGE): state
            for state in (
                S.REQUESTED,
                S.ESTIMATED,
                S.PAID,
                S.SCHEDULED,
                S.IN_PROGRESS,
                S.COMPLETED,
                S.CLAIMED,
            )
        },
    }
)

#: The entries of `TRANSITIONS` an order takes only under the supplementary-estimate
#: policy (decision D-OVERRUN, rules H4, H5): staff estimate the extra hours of works in
#: progress only under it, and the customer pays or declines such a quote only while it is
#: open.  Otherwise they are refused as any step outside the table is.
SUPPLEMENTARY_STEPS: Final[frozenset[tuple[State, Action]]] = frozenset(
    (S.IN_PROGRESS, action) for action in (A.ESTIMATE, A.PAY, A.DECLINE)
)

#: Who may take each action.  Payments come from the billing system; the closing job may
#: close orders as well as staff; a refund is settled by staff or by the system that
#: carries out the refunds.
ACTORS: Final[Mapping[Action, frozenset[ActorKind]]] = MappingProxyType(
    {
        A.REQUEST: frozenset({ActorKind.CUSTOMER}),
        A.SUPPLEMENT: frozenset({ActorKind.CUSTOMER}),
        A.ESTIMATE: frozenset({ActorKind.STAFF}),
        A.DECLINE: frozenset({ActorKind.CUSTOMER}),
        A.PAY: frozenset({ActorKind.SYSTEM}),
        A.SCHEDULE: frozenset({ActorKind.STAFF}),
        A.CANCEL: frozenset({ActorKind.CUSTOMER}),
        A.START: frozenset({ActorKind.STAFF}),
        A.CUSTOMER_CHANGE: frozenset({ActorKind.CUSTOMER}),
        A.COMPLETE: frozenset({ActorKind.STAFF}),
        A.NOTICE_SENT: frozenset({ActorKind.SYSTEM}),
        A.FAIL: frozenset({ActorKind.STAFF}),
        A.CLAIM: frozenset({ActorKind.CUSTOMER}),
        A.ACCEPT_CLAIM: frozenset({ActorKind.STAFF}),
        A.REJECT_CLAIM: frozenset({ActorKind.STAFF}),
        A.REWORK: frozenset({ActorKind.STAFF}),
        A.SETTLE_REFUND: frozenset({ActorKind.STAFF, ActorKind.SYSTEM}),
        A.CLOSE: frozenset({ActorKind.STAFF, ActorKind.SYSTEM}),
        A.WITHDRAW: frozenset({ActorKind.STAFF}),
        A.LOG_HOURS: frozenset({ActorKind.STAFF}),
    }
)

#: States no action leaves: what happened there is final.
TERMINAL: Final[frozenset[State]] = frozenset(
    state for state in State if not any(before is state for before, _ in TRANSITIONS)
)


#: The pending refunds of orders whose works never started: there is nothing to restore.
BEFORE_THE_WORKS: Final[frozenset[State]] = frozenset({State.CANCELLING, State.WITHDRAWING})


#: The states of an order whose works are under way on its target: at most one order on a
#: target is in one of them at a time (rule T1; the SQL stores' partial unique index
#: ``work_orders_target_busy`` names the same states).
WORKS_UNDER_WAY: Final[frozenset[State]] = frozenset({State.IN_PROGRESS})


def allowed_actions(state: State | None) -> frozenset[Action]:
    return frozenset(action for before, action in TRANSITIONS if before is state)
