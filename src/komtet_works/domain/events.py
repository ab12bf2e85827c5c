"""Domain events: what happened to an order, who did it, when, why, and the states around it.

An order's events are its audit trail, and the order can be rebuilt from them
(`WorkOrder.replay`).  Names are past tense.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
import pendulum

from komtet_works.domain.customers import Target
from komtet_works.domain.ledger import Payment, Refund
from komtet_works.domain.lifecycle import ActorKind, State
from komtet_works.domain.pricing import Quote
from komtet_works.domain.works import Backup, ClaimRemedy, RestoreWithheldReason, WithdrawalReason


@attrs.frozen
class Actor:
    """Who took a step: a customer, a staff member, or a system (billing, the closing job)."""

    kind: ActorKind
    id: str

    @classmethod
    def customer(cls, customer_id: str) -> Actor:
        return cls(ActorKind.CUSTOMER, customer_id)

    @classmethod
    def staff(cls, staff_id: str) -> Actor:
        return cls(ActorKind.STAFF, staff_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(ActorKind.SYSTEM, name)

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"


_REDACTED = "'<redacted>'"


def _redact(_: str) -> str:
    return _REDACTED


@attrs.frozen
class Event:
    """Base of every event; `note` is the why, in the actor's words (never logged)."""

    order_id: str
    actor: Actor
    at: pendulum.DateTime
    before: State | None
    after: State
    note: str = attrs.field(default="", repr=_redact, kw_only=True)


@attrs.frozen
class OrderRequested(Event):
    customer_id: str = attrs.field(kw_only=True)
    target: Target = attrs.field(kw_only=True)
    problem: str = attrs.field(kw_only=True, repr=_redact)


@attrs.frozen
class RequestSupplemented(Event):
    text: str = attrs.field(kw_only=True, repr=_redact)


@attrs.frozen
class EstimateIssued(Event):
    quote: Quote = attrs.field(kw_only=True)


@attrs.frozen
class QuoteDeclined(Event):
    pass


@attrs.frozen
class PaymentReceived(Event):
    payment: Payment = attrs.field(kw_only=True)


@attrs.frozen
class CompletionDateAnnounced(Event):
    due: pendulum.DateTime = attrs.field(kw_only=True)


@attrs.frozen
class OrderCancelled(Event):
    """The intent: the order is to be refunded in full (`RefundsSettled` follows)."""


@attrs.frozen
class WorksStarted(Event):
    backup: Backup = attrs.field(kw_only=True)


@attrs.frozen
class CustomerChangeRecorded(Event):
    pass


@attrs.frozen
class WorksCompleted(Event):
    """The works are done; the claim window opens when the notice is sent
    (`CompletionNoticeSent`).  Events stored before that step existed carry the send time
    and the deadline themselves, and replay as they were recorded."""

    notice_sent_at: pendulum.DateTime | None = attrs.field(default=None, kw_only=True)
    claim_deadline: pendulum.DateTime | None = attrs.field(default=None, kw_only=True)
    #: rule H2: the unused hours refunded, per payment, under `SpentHours.REFUND_UNUSED`;
    #: asked of billing through the outbox after this step's commit, so no receipt here
    unused_refunds: tuple[Refund, ...] = attrs.field(default=(), kw_only=True)


@attrs.frozen
class CompletionNoticeSent(Event):
    """The notifier reported the completion notice sent at `sent_at`: the claim window,
    which ends at `claim_deadline`, counts from then (rule C1)."""

    sent_at: pendulum.DateTime = attrs.field(kw_only=True)
    claim_deadline: pendulum.DateTime = attrs.field(kw_only=True)


@attrs.frozen
class WorksFailed(Event):
    """The intent: refund everything and restore the backup (`RefundsSettled` follows)."""


@attrs.frozen
class ClaimFiled(Event):
    text: str = attrs.field(kw_only=True, repr=_redact)
    #: the customer's choice (C5); events stored before it existed decode as a refund
    remedy: ClaimRemedy = attrs.field(default=ClaimRemedy.REFUND, kw_only=True)


@attrs.frozen
class ClaimAccepted(Event):
    """The intent: refund everything and restore the backup (`RefundsSettled` follows)."""


@attrs.frozen
class ClaimRejected(Event):
    pass


@attrs.frozen
class ReworkStarted(Event):
    pass


@attrs.frozen
class HoursLogged(Event):
    """Staff spent `hours` on the works (rule H1); the actor and instant say who and when."""

    hours: Decimal


@attrs.frozen
class RefundsSettled(Event):
    """The refunds made and the restore tried; `restored` is None for a cancellation,
    which has no backup to restore."""

    refunds: tuple[Refund, ...] = attrs.field(kw_only=True)
    restored: bool | None = attrs.field(kw_only=True)


@attrs.frozen
class OrderClosed(Event):
    pass


@attrs.frozen
class OrderWithdrawn(Event):
    """Staff end the order before its works start (rule W1).  Of a paid order this is the
    intent (`withdrawing`): every payment is to be refunded (`RefundsSettled` follows)."""

    reason: WithdrawalReason = attrs.field(kw_only=True)


@attrs.frozen
class RestoreWithheld(Event):
    """The refund went out but the backup was not restored, for `reason` (rules T2, T3);
    `conflicting_order` is the later order whose works a restore would undo ("" if none)."""

    reason: RestoreWithheldReason = attrs.field(kw_only=True)
    conflicting_order: str = attrs.field(kw_only=True)


@attrs.frozen
class RestoreDecided(Event):
    """Staff decide a restore conflict (rule T3): restore anyway (`restore`, an override),
    or leave the target as it is; `restored` says whether the data came back."""

    restore: bool = attrs.field(kw_only=True)
    restored: bool = attrs.field(kw_only=True)
