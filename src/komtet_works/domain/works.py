"""The works side of an order: the completion date, the backup, the notice and claims."""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs
import pendulum

from komtet_works.domain.instants import require_aware


def _taken_at(value: object) -> pendulum.DateTime:
    return require_aware(value, field="taken_at")


@attrs.frozen
class Backup:
    """A snapshot of the target taken before works (rule L5)."""

    reference: str
    taken_at: pendulum.DateTime = attrs.field(converter=_taken_at)
    verified: bool


class ClaimOutcome(enum.Enum):
    REFUND = "refund"
    REJECT = "reject"
    REWORK = "rework"


class ClaimRemedy(enum.Enum):
    """What the customer asks for in a claim (rule C5): their money back, or the works done
    again.  Rework happens only with the customer's agreement, so only they choose it."""

    REFUND = "refund"
    REWORK = "rework"


class WithdrawalReason(enum.Enum):
    """Why staff end an order before its works start (rule W1)."""

    #: the works asked for are not within the problem described, or not works of this service
    OUT_OF_SCOPE = "out_of_scope"
    #: a problem of the hosting itself: free Technical Support takes it (rule E2)
    HOSTING_FAULT = "hosting_fault"
    #: the site or server is not the provider's equipment (rule E1)
    THIRD_PARTY_EQUIPMENT = "third_party_equipment"
    #: no verified backup can be taken, so the works cannot start (rule L5)
    BACKUP_IMPOSSIBLE = "backup_impossible"
    OTHER = "other"

    @property
    def goes_to_free_support(self) -> bool:
        """Rule E2: a hosting fault is handed to free Technical Support."""
        return self is WithdrawalReason.HOSTING_FAULT


class Urgency(enum.Enum):
    """How urgent staff judge an order when they set its completion date (D-URGENCY)."""

    #: queued behind every order waiting for staff
    NORMAL = "normal"
    #: queued behind the other urgent orders only
    URGENT = "urgent"


class RestoreWithheldReason(enum.Enum):
    """Why a restore owed by a refund was not made (rules T2, T3)."""

    #: the target is no longer the customer's: the new owner's data stays (rule T2)
    NOT_CUSTOMER_TARGET = "not_customer_target"
    #: another order's works on the target started after this backup (rule T3)
    RESTORE_CONFLICT = "restore_conflict"


@attrs.frozen
class Claim:
    filed_at: pendulum.DateTime
    text: str = attrs.field(repr=False)
    outcome: ClaimOutcome | None = None
    remedy: ClaimRemedy = ClaimRemedy.REFUND


@attrs.frozen
class TimeEntry:
    """Hours staff spent on the works, as logged (rule H1): append-only."""

    logged_by: str
    logged_at: pendulum.DateTime
    hours: Decimal
    note: str = attrs.field(default="", repr=False)


@attrs.frozen
class Works:
    due: pendulum.DateTime | None = None
    backup: Backup | None = None
    started_at: pendulum.DateTime | None = None
    #: when the customer changed something on the target, as recorded
    customer_changes: tuple[pendulum.DateTime, ...] = ()
    #: whether a change was recorded after the works started, by the order of the steps
    changed_during_works: bool = False
    #: when the latest completion was recorded; its notice may go out later
    completed_at: pendulum.DateTime | None = None
    #: when the latest completion notice was sent (None: not yet): the window counts from it
    notice_sent_at: pendulum.DateTime | None = None
    claim_deadline: pendulum.DateTime | None = None
    #: the latest claim, with its outcome once decided (None: none filed): the rules read
    #: only it (C5: its remedy, the decision owed); every claim is in the history
    #: (`recorded.claims`), so the state stays the same size however often works are redone
    claim: Claim | None = None
    #: claims filed since the last completion notice: `max_claims` counts per window (C3)
    window_claims: int = 0
    #: None until a restore was due; then whether the data came back
    restored: bool | None = None
    #: why a restore owed was not made (then `restored` is False)
    restore_withheld: RestoreWithheldReason | None = None
    #: the later order whose works stand in the way of the restore (rule T3)
    conflicting_order: str | None = None
    #: staff's decision on a withheld restore: restore anyway (True), or not (False)
    restore_override: bool | None = None
    #: the order's version after its latest completion: the step its notice is owed by
    completed_version: int | None = None
    #: the hours staff logged so far, summed (rules H1-H3 read only the sum); each entry is
    #: in the history (`recorded.time_entries`)
    spent_hours: Decimal = Decimal(0)
    #: staff's judgement of urgency, set with the completion date (D-URGENCY)
    urgency: Urgency = Urgency.NORMAL

    @property
    def restore_pending_decision(self) -> bool:
        """Rule T3: a restore conflict waits for staff to decide."""
        return (
            self.restore_withheld is RestoreWithheldReason.RESTORE_CONFLICT
            and self.restore_override is None
        )

    def changed_since_start(self) -> bool:
        """Rule C2: a change recorded after the start step (during or after the works) voids
        claims; one recorded before it never does, even at the same instant."""
        return self.changed_during_works
