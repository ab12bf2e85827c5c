"""Messages to customers: what happened, as typed facts, and the port that sends them.

A message carries no prose.  Its `facts` are one record per kind of message, holding the
values the customer needs to act (money, hours, instants, the claim deadline, a
decision's reason, whether the data came back); wording, language and layout are the
notifier's business (`komtet_works.adapters.notices` renders them from templates).  A
host writing its own notifier reads the facts directly, by their class or `kind`.

Adding a kind of message is one `MessageKind` member, one `Facts` subclass naming it,
and its templates.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Final, Protocol

import attrs
import pendulum

from komtet_works.domain.errors import InvalidTransition
from komtet_works.domain.money import Money
from komtet_works.domain.policy import ClaimWindowMeasure, Policy
from komtet_works.domain.pricing import Quote
from komtet_works.domain.works import (
    ClaimOutcome,
    RestoreWithheldReason,
    WithdrawalReason,
    Works,
)

#: Microseconds in an hour: a window in hours, exactly.
_MICROS_PER_HOUR: Final = Decimal(3_600_000_000)


class MessageKind(enum.Enum):
    QUOTE_ISSUED = "quote_issued"
    PAYMENT_RECEIVED = "payment_received"
    COMPLETION_DATE = "completion_date"
    WORKS_STARTING = "works_starting"
    WORKS_COMPLETED = "works_completed"
    REFUNDED = "refunded"
    CLAIM_DECIDED = "claim_decided"
    WITHDRAWN = "withdrawn"
    RESTORE_WITHHELD = "restore_withheld"
    COMPLETION_DATE_REVISED = "completion_date_revised"


@attrs.frozen
class Facts:
    """What a message reports; each subclass is one `MessageKind`."""

    kind: ClassVar[MessageKind]


@attrs.frozen
class SupplementaryQuoteFacts:
    """Why a quote is supplementary (rule H4): the works in progress took `spent_hours`
    so far, and the customer paid for `paid_hours`; the works go on past them only once
    the supplementary quote is paid."""

    spent_hours: Decimal
    paid_hours: Decimal


@attrs.frozen
class QuoteIssuedFacts(Facts):
    """The quote with its whole breakdown (rule P7): the staff's `hours`, the billable
    hours, the rate, the gross, the discount and its reason, the total, and the instant it
    is payable until; for a supplementary estimate of works in progress, why (H4)."""

    kind = MessageKind.QUOTE_ISSUED
    quote: Quote
    supplementary: SupplementaryQuoteFacts | None = None


@attrs.frozen
class PaymentReceivedFacts(Facts):
    kind = MessageKind.PAYMENT_RECEIVED
    amount: Money
    received_at: pendulum.DateTime


@attrs.frozen
class CompletionDateFacts(Facts):
    """When the works will be done, as staff announce it."""

    kind = MessageKind.COMPLETION_DATE
    due: pendulum.DateTime


@attrs.frozen
class CompletionDateRevisedFacts(Facts):
    """Staff gave a new completion date (rule S2): the new one, the one it replaces, and
    why, in staff's words (required once the works have started; may be empty before)."""

    kind = MessageKind.COMPLETION_DATE_REVISED
    due: pendulum.DateTime
    previous: pendulum.DateTime
    reason: str


@attrs.frozen
class WorksStartingFacts(Facts):
    """The works have started: the customer must change nothing until they are done."""

    kind = MessageKind.WORKS_STARTING
    started_at: pendulum.DateTime
    due: pendulum.DateTime | None


@attrs.frozen
class WorksCompletedFacts(Facts):
    """The completion notice: claims can be filed within the window from its sending.

    No absolute deadline: the window counts from the moment the notice is sent (rule C1),
    which is known only once it went out.  `claim_window_hours` is the policy's window in
    hours, `claim_window_measure` how it is measured.
    """

    kind = MessageKind.WORKS_COMPLETED
    completed_at: pendulum.DateTime
    claim_window_hours: Decimal
    claim_window_measure: ClaimWindowMeasure
    #: rule H2, under `SpentHours.REFUND_UNUSED` only (else None): the hours staff logged,
    #: and what this completion refunds for the hours paid for but not spent (zero: none)
    hours_spent: Decimal | None = None
    unused_refund: Money | None = None

    @classmethod
    def of(
        cls, works: Works, policy: Policy, *, unused_refund: Money | None = None
    ) -> WorksCompletedFacts:
        """The notice of `works` just completed, with the window of `policy`, and what the
        completion refunds for unused hours (rule H2; None: the policy refunds none)."""
        if works.completed_at is None:
            raise InvalidTransition("the works have not been completed")
        hours = Decimal(policy.claim_window // timedelta(microseconds=1)) / _MICROS_PER_HOUR
        spent = None if unused_refund is None else works.spent_hours
        return cls(works.completed_at, hours, policy.claim_window_measure, spent, unused_refund)


@attrs.frozen
class ClaimDecidedFacts(Facts):
    kind = MessageKind.CLAIM_DECIDED
    outcome: ClaimOutcome
    #: the staff's reason, as they wrote it (free text: escape it)
    reason: str


@attrs.frozen
class RefundedFacts(Facts):
    """Money refunded; `restored` says whether the start-of-works backup was restored
    (None: a cancellation, with no works to undo)."""

    kind = MessageKind.REFUNDED
    amount: Money
    restored: bool | None


@attrs.frozen
class WithdrawnFacts(Facts):
    """Staff withdrew the order before the works (rule W1), for `reason`; a paid order's
    money is refunded in full (a `RefundedFacts` message follows)."""

    kind = MessageKind.WITHDRAWN
    reason: WithdrawalReason
    #: rule E2: the problem is the hosting's own, handed to free Technical Support
    handed_to_support: bool


@attrs.frozen
class RestoreWithheldFacts(Facts):
    """Money refunded, but the start-of-works backup not restored, for `reason` (rules
    T2, T3): the target is no longer the customer's, or a later order's works on it
    would be undone, which staff decide."""

    kind = MessageKind.RESTORE_WITHHELD
    amount: Money
    reason: RestoreWithheldReason


#: The facts class of each kind of message.
FACTS: Final[Mapping[MessageKind, type[Facts]]] = {cls.kind: cls for cls in Facts.__subclasses__()}


@attrs.frozen
class Message:
    """A message to a customer.  `id` is stable, so a receiver can drop duplicates."""

    id: str
    order_id: str
    customer_id: str
    facts: Facts = attrs.field(repr=False)

    @property
    def kind(self) -> MessageKind:
        return self.facts.kind


class Notifier(Protocol):
    """Sends messages to customers on the provider's behalf."""

    def send(self, message: Message) -> datetime:
        """Send `message`; return the instant it was sent (timezone-aware), by the provider's
        clock.

        Raises `NotificationFailed` when it could not be sent.
        """
        ...
