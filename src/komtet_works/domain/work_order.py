"""The work order, the aggregate: every step is guarded, recorded as an event, and returns
a new order.  The order it was called on is never touched, so a refused step changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum

from komtet_works.domain.customers import Customer, Target, TargetKind
from komtet_works.domain.errors import (
    ActorNotAllowed,
    AmountMismatch,
    BackupNotConfirmed,
    CancellationNotAllowed,
    ClaimLimitReached,
    ClaimMustBeHonoured,
    ClaimVoidCustomerChanges,
    ClaimWindowClosed,
    ClaimWindowOpen,
    ConcurrencyError,
    DueTooSoon,
    HostingFaultFreeSupport,
    InvalidHours,
    InvalidInput,
    InvalidRefund,
    InvalidTransition,
    NoCurrentQuote,
    NoticeAlreadySent,
    NoticeNotSent,
    NotOrderOwner,
    OutOfOrder,
    QuoteExpired,
    QuoteOutdated,
    RestoreNotPending,
    ReworkNotAgreed,
    SupplementaryEstimateNeeded,
)
from komtet_works.domain.events import (
    Actor,
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
    RestoreDecided,
    RestoreWithheld,
    ReworkStarted,
    WorksCompleted,
    WorksFailed,
    WorksStarted,
)
from komtet_works.domain.evolving import evolver
from komtet_works.domain.instants import require_aware
from komtet_works.domain.ledger import Ledger, Payment, Refund
from komtet_works.domain.lifecycle import (
    ACTORS,
    BEFORE_THE_WORKS,
    SUPPLEMENTARY_STEPS,
    TRANSITIONS,
    WORKS_UNDER_WAY,
    Action,
    ActorKind,
    State,
)
from komtet_works.domain.money import ExactNumber
from komtet_works.domain.policy import Policy, PriceLock, SpentHours
from komtet_works.domain.pricing import Tariff, canonical, parse_hours, price
from komtet_works.domain.unused_hours import unused_hours_refund
from komtet_works.domain.works import (
    Backup,
    Claim,
    ClaimOutcome,
    ClaimRemedy,
    RestoreWithheldReason,
    Urgency,
    WithdrawalReason,
    Works,
)

#: Longest free text accepted in a problem, supplement, claim or note.
MAX_TEXT: Final = 100_000


def _text(value: object, field: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}", field=field)
    if required and not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT} characters", field=field)
    return value


def _note(value: object) -> str:
    """The optional why of a step, in the actor's words."""
    return _text(value, "note", required=False)


def _redact(_: object) -> str:
    return "'<redacted>'"


@attrs.frozen
class WorkOrder:
    """One customer's order of paid works on one of their sites or servers."""

    id: str
    customer_id: str
    target: Target
    problem: str = attrs.field(repr=_redact)
    state: State
    ledger: Ledger
    works: Works
    #: how many events the order has: the optimistic-concurrency version
    version: int
    #: the instant of the order's last step: no step may come before it
    last_step_at: pendulum.DateTime
    #: the events recorded since the order was loaded (or requested), oldest first: what
    #: a store's `save` appends to its history.  Not the whole history (the store keeps
    #: that, for audit: `WorkOrders.history`), so a step costs the same however long the
    #: history is; not part of the order's value either (equality, the stored state).
    new_events: tuple[Event, ...] = attrs.field(default=(), repr=False, eq=False)

    # --- rebuilding ---------------------------------------------------------------------

    @classmethod
    def replay(cls, events: Iterable[Event]) -> WorkOrder:
        """The order its events describe, exactly as the transitions built it, as a store
        gives it back: with no `new_events`.  The audit's fold; loading an order reads
        its stored state instead."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, OrderRequested):
            raise InvalidInput("an order's history starts with OrderRequested", field="events")
        order = _created(first).without_new_events()
        for event in iterator:
            # each step from an order with nothing new: linear in the history, not quadratic
            order = _APPLY[type(event)](order, event).without_new_events()
        return order

    def events_since(self, version: int) -> tuple[Event, ...]:
        """The events that took the order from `version` to its own: what a store saving
        it over `version` appends.  `ConcurrencyError` when the order is older than
        `version`, or was loaded after it (those events are not here to save)."""
        loaded = self.version - len(self.new_events)
        if not loaded <= version <= self.version:
            raise ConcurrencyError(
                f"order {self.id!r} at version {self.version} (loaded at {loaded}) cannot be "
                f"saved over version {version}"
            )
        return self.new_events[version - loaded :]

    def without_new_events(self) -> WorkOrder:
        """This order as a store gives it back once saved: the same, nothing new to save."""
        if not self.new_events:
            return self
        return WorkOrder(
            self.id,
            self.customer_id,
            self.target,
            self.problem,
            self.state,
            self.ledger,
            self.works,
            self.version,
            self.last_step_at,
        )

    def _record(self, event: Event) -> WorkOrder:
        return _APPLY[type(event)](self, event)

    # --- guards ---------------------------------------------------------------------------

    def check(
        self, action: Action, actor: Actor, at: object, *, policy: Policy | None = None
    ) -> tuple[pendulum.DateTime, State]:
        """Whether `actor` may take `action` at `at`: the checks every step starts with.

        Returns the checked instant and the state after.  Use cases call it before side
        effects (a backup, a refund) that must not happen for a step the rules refuse.
        `policy` is the host's, for the one entry of the table that depends on it (a
        supplementary estimate, D-OVERRUN); without it that entry is not taken.
        """
        instant = require_aware(at)
        if actor.kind is ActorKind.CUSTOMER and actor.id != self.customer_id:
            raise NotOrderOwner(f"order {self.id!r} belongs to another customer")
        if actor.kind not in ACTORS[action]:
            raise ActorNotAllowed(f"a {actor.kind.value} cannot {action.value} an order")
        after = TRANSITIONS.get((self.state, action))
        if after is None or (
            after is State.IN_PROGRESS  # cheap first: most steps lead elsewhere
            and (self.state, action) in SUPPLEMENTARY_STEPS
            and not self._supplementary_step(action, policy)
        ):
            raise InvalidTransition(
                f"cannot {action.value.replace('_', ' ')} an order that is {self.state.value}"
            )
        if instant < self.last_step_at:
            raise OutOfOrder(
                f"{action.value} at {instant.isoformat()} is before the order's last step "
                f"at {self.last_step_at.isoformat()}"
            )
        return instant, after

    def _supplementary_step(self, action: Action, policy: Policy | None) -> bool:
        """Rules H4, H5: a supplementary estimate only under its policy; its payment and
        its decline only while one is open."""
        if action is Action.ESTIMATE:
            return policy is not None and policy.spent_hours is SpentHours.SUPPLEMENTARY_ESTIMATE
        return self.ledger.supplementary_quote is not None

    @property
    def overrun_hours(self) -> Decimal:
        """The hours spent past the hours paid for (rule H3); 0 while within them."""
        return max(self.works.spent_hours - self.ledger.paid_hours, Decimal(0))

    # --- the lifecycle ----------------------------------------------------------------------

    @classmethod
    def request(
        cls,
        *,
        order_id: str,
        customer: Customer,
        target: str,
        problem: str,
        at: object,
        hosting_fault: bool = False,
        target_kind: TargetKind | None = None,
    ) -> WorkOrder:
        """Rules L1, E1, E2, E4: a customer describes a problem on one of their own targets,
        named by its kind where the name alone is both a site and a server."""
        instant = require_aware(at)
        _text(order_id, "order_id")
        owned = customer.target(target, target_kind)
        if hosting_fault:
            raise HostingFaultFreeSupport(
                "problems of the hosting itself or of the provider's service settings are "
                "solved by Technical Support free of charge"
            )
        return _created(
            OrderRequested(
                order_id,
                Actor.customer(customer.id),
                instant,
                None,
                State.REQUESTED,
                customer_id=customer.id,
                target=owned,
                problem=_text(problem, "problem"),
            )
        )

    def supplement(self, *, by: Actor, at: object, text: str) -> WorkOrder:
        """Rule L3: more detail; a current quote is withdrawn and must be re-estimated."""
        instant, after = self.check(Action.SUPPLEMENT, by, at)
        return self._record(
            RequestSupplemented(self.id, by, instant, self.state, after, text=_text(text, "text"))
        )

    def estimate(
        self,
        *,
        by: Actor,
        at: object,
        hours: ExactNumber,
        tariff: Tariff,
        customer: Customer,
        policy: Policy,
    ) -> WorkOrder:
        """Rules L2, P1-P4: staff estimate the hours; a quote supersedes any earlier one.

        `customer` is the directory's view now: the discount needs a subscription active at
        the time of the estimate (E3).  Of works in progress, under the supplementary-
        estimate policy, it is a supplementary estimate of the extra hours (rule H4): at
        least the hours already spent past those paid for, with no minimum term.
        """
        instant, after = self.check(Action.ESTIMATE, by, at, policy=policy)
        estimated = parse_hours(hours)
        supplementary = self.state is State.IN_PROGRESS
        overrun = self.overrun_hours
        if supplementary and estimated < overrun:
            raise InvalidHours(
                f"a supplementary estimate covers at least the {overrun} h spent past the "
                f"{self.ledger.paid_hours} h paid for, not {estimated} h",
                field="hours",
            )
        quote = price(
            tariff,
            estimated,
            maintained_site=customer.has_maintenance_on(self.target),
            issued_at=instant,
            valid_for=policy.quote_valid_for,
            supplementary=supplementary,
        )
        return self._record(EstimateIssued(self.id, by, instant, self.state, after, quote=quote))

    def decline(self, *, by: Actor, at: object, note: str = "") -> WorkOrder:
        instant, after = self.check(Action.DECLINE, by, at)
        return self._record(
            QuoteDeclined(self.id, by, instant, self.state, after, note=_note(note))
        )

    def pay(
        self,
        *,
        by: Actor,
        at: object,
        payment: Payment,
        policy: Policy,
        tariff: Tariff,
        customer: Customer,
    ) -> WorkOrder:
        """Rules P5, L4, H5: the current quote, or the open supplementary quote of works in
        progress, paid exactly and in time.

        A payment already accepted (same id, same amount) is a retried callback: the
        order is returned unchanged, so it counts once.
        """
        if self.ledger.known_payment(payment):
            return self
        if self.state is State.REQUESTED and self.ledger.current_quote is None:
            raise NoCurrentQuote(f"order {self.id!r} has no quote that can be paid")
        instant, after = self.check(Action.PAY, by, at)
        supplementary = self.state is State.IN_PROGRESS
        quote = self.ledger.supplementary_quote if supplementary else self.ledger.current_quote
        if quote is None:  # pragma: no cover - ESTIMATED always has a current quote
            raise NoCurrentQuote(f"order {self.id!r} has no quote that can be paid")
        if not quote.is_payable_at(instant):
            raise QuoteExpired(
                f"the quote was payable until {quote.payable_until.isoformat()}; "
                "staff must estimate again"
            )
        if payment.amount != quote.total:
            raise AmountMismatch(f"payment of {payment.amount} does not match {quote.total}")
        if policy.price_lock is PriceLock.AT_PAYMENT:
            now = price(
                tariff,
                quote.hours,
                maintained_site=customer.has_maintenance_on(self.target),
                issued_at=instant,
                valid_for=policy.quote_valid_for,
                supplementary=supplementary,
            )
            if now.total != quote.total:
                raise QuoteOutdated(
                    f"the price is now {now.total}, not {quote.total}; staff must estimate again"
                )
        return self._record(
            PaymentReceived(self.id, by, instant, self.state, after, payment=payment)
        )

    def schedule(
        self,
        *,
        by: Actor,
        at: object,
        due: object,
        urgency: Urgency | None = None,
        earliest: object = None,
        reason: object = "",
    ) -> WorkOrder:
        """Rule L4: the completion date, told to the customer before the works; with the
        order's urgency (D-URGENCY; None: as it was, normal at first).

        `earliest` (rule S1): when staff give a date of their own, the instant the order's
        billable hours of working time allow at the soonest, which the caller reads from
        the business calendar (`WorkOrderService.schedule`); an earlier date is refused.
        `reason` (rule S2): why the date changes, kept as the event's note; required once
        the works have started.
        """
        instant, after = self.check(Action.SCHEDULE, by, at)
        why = _text(reason, "reason", required=self.state in WORKS_UNDER_WAY)
        due_at = require_aware(due, field="due")
        if due_at <= instant:
            raise InvalidInput("the completion date must be in the future", field="due")
        soonest = None if earliest is None else require_aware(earliest, field="earliest")
        if soonest is not None and due_at < soonest:
            raise DueTooSoon(
                "the order's billable hours of working time end at "
                f"{soonest.isoformat()} at the soonest"
            )
        judged = self.works.urgency if urgency is None else urgency
        return self._record(
            CompletionDateAnnounced(
                self.id, by, instant, self.state, after, due=due_at, urgency=judged, note=why
            )
        )

    def cancel(self, *, by: Actor, at: object, policy: Policy) -> WorkOrder:
        """Decision D-CANCELLATION: before works start, a cancellation refunds everything.

        This records the intent (`cancelling`); `settle_refunds` records the refunds.
        """
        instant, after = self.check(Action.CANCEL, by, at)
        if not policy.cancel_before_start:
            raise CancellationNotAllowed("this provider does not take cancellations after payment")
        return self._record(OrderCancelled(self.id, by, instant, self.state, after))

    def start(self, *, by: Actor, at: object, backup: Backup) -> WorkOrder:
        """Rules L5, L6: no works without a confirmed backup of the target."""
        instant, after = self.check(Action.START, by, at)
        if not self.last_step_at <= backup.taken_at <= instant:
            raise BackupNotConfirmed(
                f"backup {backup.reference!r} was not taken at the start of these works"
            )
        if not backup.verified:
            raise BackupNotConfirmed(f"backup {backup.reference!r} is not confirmed")
        return self._record(WorksStarted(self.id, by, instant, self.state, after, backup=backup))

    def record_customer_change(self, *, by: Actor, at: object, note: str = "") -> WorkOrder:
        """Rules L6, C2: the customer changed something on the target."""
        instant, after = self.check(Action.CUSTOMER_CHANGE, by, at)
        return self._record(
            CustomerChangeRecorded(self.id, by, instant, self.state, after, note=_note(note))
        )

    def log_hours(
        self, *, by: Actor, at: object, hours: ExactNumber, policy: Policy, note: str = ""
    ) -> WorkOrder:
        """Rule H1: staff log hours spent on the works while they run; append-only.

        Under the default policy the paid quote is the price and the hours are a record
        (D-OVERRUN).  Under the supplementary-estimate policy the entry that passes the
        hours paid for is a record of the truth and is kept, but no entry follows it until
        a supplementary estimate covering them is paid (rule H3).
        """
        instant, after = self.check(Action.LOG_HOURS, by, at)
        spent = parse_hours(hours)
        overrun = self.overrun_hours
        if policy.spent_hours is SpentHours.SUPPLEMENTARY_ESTIMATE and overrun:
            raise SupplementaryEstimateNeeded(
                f"{self.works.spent_hours} h were spent of the {self.ledger.paid_hours} h paid "
                "for: the works go on once the customer pays a supplementary estimate"
            )
        return self._record(
            HoursLogged(self.id, by, instant, self.state, after, hours=spent, note=_note(note))
        )

    def complete(
        self, *, by: Actor, at: object, policy: Policy | None = None, tariff: Tariff | None = None
    ) -> WorkOrder:
        """Rule L7: the works are done.  The claim window opens when the completion notice
        is sent (`record_notice_sent`), not at this step (rule C1).

        Under `SpentHours.REFUND_UNUSED` the first completion refunds the hours paid for
        but not spent (rule H2); `tariff` bills them for a quote recorded without its own.
        """
        instant, after = self.check(Action.COMPLETE, by, at)
        refunds = self._unused_hours(policy, tariff)
        return self._record(
            WorksCompleted(self.id, by, instant, self.state, after, unused_refunds=refunds)
        )

    def _unused_hours(self, policy: Policy | None, tariff: Tariff | None) -> tuple[Refund, ...]:
        """Rule H2: the refunds a completion owes for unused hours, per payment.

        Only the first completion: a rework's completion refunds nothing more (the unused
        hours were settled on the hours then spent; the rework is the provider's remedy).
        """
        quote = self.ledger.current_quote
        if (
            policy is None
            or policy.spent_hours is not SpentHours.REFUND_UNUSED
            or self.works.completed_at is not None
            or quote is None
        ):
            return ()
        refund = unused_hours_refund(
            quote,
            self.works.spent_hours,
            paid=self.ledger.paid,
            tariff=tariff if tariff is not None else Tariff(),
        )
        return self.ledger.refunds_of(refund) if refund.amount > 0 else ()

    def record_notice_sent(
        self, *, by: Actor, at: object, sent_at: object, policy: Policy
    ) -> WorkOrder:
        """Rule C1: the notifier sent the completion notice at `sent_at`; the claim window
        counts from then.  Once per completion; the order stays `completed`.

        `at` is when this is recorded, by the provider's clock; `sent_at` may be earlier (a
        customer change recorded in between does not move the window), or later (a mail
        server's clock ahead: the customer keeps the later window), never before the
        completion.
        """
        instant, after = self.check(Action.NOTICE_SENT, by, at)
        sent = require_aware(sent_at, field="sent_at")
        if self.works.notice_sent_at is not None:
            raise NoticeAlreadySent(f"the completion notice of order {self.id!r} was sent already")
        completed_at = self.works.completed_at
        if completed_at is None or sent < completed_at:
            raise InvalidInput("a completion notice is sent after the completion", field="sent_at")
        return self._record(
            CompletionNoticeSent(
                self.id,
                by,
                instant,
                self.state,
                after,
                sent_at=sent,
                claim_deadline=policy.claim_deadline(sent),
            )
        )

    def fail(self, *, by: Actor, at: object, note: str = "") -> WorkOrder:
        """Rule L8: not solved: every payment is to be refunded, the backup restored.

        This records the intent (`refunding`); `settle_refunds` records what was done.
        """
        instant, after = self.check(Action.FAIL, by, at)
        return self._record(WorksFailed(self.id, by, instant, self.state, after, note=_note(note)))

    def claim(
        self,
        *,
        by: Actor,
        at: object,
        text: str,
        policy: Policy,
        remedy: ClaimRemedy = ClaimRemedy.REFUND,
    ) -> WorkOrder:
        """Rules C1, C2, C3, C5: inside the window, and only without customer changes; the
        customer chooses the remedy, their money back (the default) or the works again."""
        instant, after = self.check(Action.CLAIM, by, at)
        works = self.works
        if works.window_claims >= policy.max_claims:
            raise ClaimLimitReached(
                f"a completion notice opens a window for {policy.max_claims} claim(s)"
            )
        deadline = works.claim_deadline
        if deadline is None:
            raise NoticeNotSent("the claim window opens when the completion notice is sent")
        if instant > deadline:
            raise ClaimWindowClosed(f"claims could be filed until {deadline.isoformat()}")
        if works.changed_since_start():
            raise ClaimVoidCustomerChanges(
                "the customer changed the target during or after the works"
            )
        if not isinstance(remedy, ClaimRemedy):
            raise InvalidInput("a claim's remedy is refund or rework", field="remedy")
        return self._record(
            ClaimFiled(
                self.id, by, instant, self.state, after, text=_text(text, "text"), remedy=remedy
            )
        )

    def resolve_claim(
        self, *, by: Actor, at: object, outcome: ClaimOutcome, policy: Policy, note: str = ""
    ) -> WorkOrder:
        """Decision D-CLAIMS, rule C5: refund and restore (`refunding`), reject (only where
        the policy allows it), or rework (only a claim whose customer asked for it)."""
        action = _RESOLUTIONS[outcome]
        instant, after = self.check(action, by, at)
        claim = self.works.claim
        if claim is None:  # pragma: no cover - a claimed order has its claim
            raise InvalidTransition(f"order {self.id!r} has no claim to decide")
        remedy = claim.remedy
        if outcome is ClaimOutcome.REJECT and not policy.claims_may_be_rejected:
            raise ClaimMustBeHonoured(
                "a claim filed in time with no customer change is refunded and restored"
            )
        if outcome is ClaimOutcome.REWORK and remedy is not ClaimRemedy.REWORK:
            raise ReworkNotAgreed("the customer asked for a refund, not for the works again")
        event = _DECISIONS[outcome](self.id, by, instant, self.state, after, note=_note(note))
        return self._record(event)

    def settle_refunds(
        self, *, by: Actor, at: object, refunds: tuple[Refund, ...], restored: bool | None
    ) -> WorkOrder:
        """Rules L8, C3, D-CANCELLATION, D-RESTORE: the refunds made, the restore tried.

        Every payment not yet refunded is refunded in full, each with its receipt.  An
        order being refunded records whether its backup was restored; a cancellation or
        a withdrawal (before any works) has nothing to restore and records None.
        """
        instant, after = self.check(Action.SETTLE_REFUND, by, at)
        self._check_full_refund(refunds)
        if (restored is None) is not (self.state in BEFORE_THE_WORKS):
            raise InvalidInput(
                "a cancellation or withdrawal restores nothing; a refund of works records "
                "its restore",
                field="restored",
            )
        return self._record(
            RefundsSettled(
                self.id, by, instant, self.state, after, refunds=refunds, restored=restored
            )
        )

    def withhold_restore(
        self, *, by: Actor, at: object, reason: RestoreWithheldReason, conflicting_order: str = ""
    ) -> WorkOrder:
        """Rules T2, T3: the refund settled without a restore, and why.

        Not a lifecycle step: the order stays `refunded`; it follows the settlement of a
        refund of works that recorded no restore.
        """
        instant = self._refunded_step(by, at)
        if self.works.restored is not False or self.works.restore_withheld is not None:
            raise RestoreNotPending(f"order {self.id!r} has no restore to withhold")
        return self._record(
            RestoreWithheld(
                self.id,
                by,
                instant,
                self.state,
                self.state,
                reason=reason,
                conflicting_order=conflicting_order,
            )
        )

    def decide_restore(
        self, *, by: Actor, at: object, restore: bool, restored: bool, note: str = ""
    ) -> WorkOrder:
        """Rule T3: staff decide a restore conflict, once: `restore` anyway (an override,
        `restored` saying whether it worked), or not.  The order stays `refunded`."""
        instant = self._refunded_step(by, at)
        if by.kind is not ActorKind.STAFF:
            raise ActorNotAllowed(f"a {by.kind.value} cannot decide a restore")
        if not self.works.restore_pending_decision:
            raise RestoreNotPending(f"order {self.id!r} has no restore conflict to decide")
        if restored and not restore:
            raise InvalidInput("nothing is restored when staff decide not to", field="restored")
        return self._record(
            RestoreDecided(
                self.id,
                by,
                instant,
                self.state,
                self.state,
                restore=restore,
                restored=restored,
                note=_note(note),
            )
        )

    def _refunded_step(self, by: Actor, at: object) -> pendulum.DateTime:
        """The checks of a step on a refunded order's restore: its state, its clock."""
        instant = require_aware(at)
        if by.kind is ActorKind.CUSTOMER:
            raise ActorNotAllowed("a customer cannot decide a restore")
        if self.state is not State.REFUNDED:
            raise RestoreNotPending(f"order {self.id!r} is {self.state.value}, not refunded")
        if instant < self.last_step_at:
            raise OutOfOrder(
                f"the step at {instant.isoformat()} is before the order's last step "
                f"at {self.last_step_at.isoformat()}"
            )
        return instant

    def close(self, *, by: Actor, at: object) -> WorkOrder:
        """Closing: once the claim window has ended, nothing more can happen; an order
        whose completion notice has not gone out has no window yet (rule C1)."""
        instant, after = self.check(Action.CLOSE, by, at)
        deadline = self.works.claim_deadline
        if deadline is None:
            raise NoticeNotSent("the claim window opens when the completion notice is sent")
        if instant <= deadline:
            raise ClaimWindowOpen(f"claims can be filed until {deadline.isoformat()}")
        return self._record(OrderClosed(self.id, by, instant, self.state, after))

    def withdraw(
        self, *, by: Actor, at: object, reason: WithdrawalReason, note: str = ""
    ) -> WorkOrder:
        """Rule W1: staff end the order before the works start, for `reason`.

        An order not yet paid ends `withdrawn` at once; a paid one records the intent
        (`withdrawing`) and `settle_refunds` records the refunds, as for a cancellation.
        """
        instant, after = self.check(Action.WITHDRAW, by, at)
        return self._record(
            OrderWithdrawn(self.id, by, instant, self.state, after, reason=reason, note=_note(note))
        )

    def _check_full_refund(self, refunds: tuple[Refund, ...]) -> None:
        self.ledger.check_refunds(refunds)
        due = {(r.payment_id, r.amount) for r in self.ledger.refunds_due()}
        if {(r.payment_id, r.amount) for r in refunds} != due:
            raise InvalidRefund("every payment not yet refunded must be refunded in full")
        for refund in refunds:
            if not refund.reference:
                raise InvalidRefund(f"refund of payment {refund.payment_id!r} has no receipt")


_RESOLUTIONS: Final = {
    ClaimOutcome.REFUND: Action.ACCEPT_CLAIM,
    ClaimOutcome.REJECT: Action.REJECT_CLAIM,
    ClaimOutcome.REWORK: Action.REWORK,
}

_DECISIONS: Final[dict[ClaimOutcome, type[Event]]] = {
    ClaimOutcome.REFUND: ClaimAccepted,
    ClaimOutcome.REJECT: ClaimRejected,
    ClaimOutcome.REWORK: ReworkStarted,
}


# --- applying events: the only code that builds a changed order ----------------------------

_NEW_LEDGER: Final = Ledger()
_NEW_WORKS: Final = Works()
_evolve_works: Final = evolver(Works)
_evolve_claim: Final = evolver(Claim)


def _created(event: OrderRequested) -> WorkOrder:
    return WorkOrder(
        event.order_id,
        event.customer_id,
        event.target,
        event.problem,
        event.after,
        _NEW_LEDGER,
        _NEW_WORKS,
        1,
        event.at,
        (event,),
    )


def _evolve(
    order: WorkOrder,
    event: Event,
    *,
    ledger: Ledger | None = None,
    works: Works | None = None,
) -> WorkOrder:
    # Hand-written rather than attrs.evolve: this runs on every transition, and evolve's
    # introspection would cost more than the transition itself.
    return WorkOrder(
        order.id,
        order.customer_id,
        order.target,
        order.problem,
        event.after,
        order.ledger if ledger is None else ledger,
        order.works if works is None else works,
        order.version + 1,
        event.at,
        (*order.new_events, event),
    )


def _supplemented(order: WorkOrder, event: RequestSupplemented) -> WorkOrder:
    ledger = order.ledger
    if ledger.current_quote is not None:
        ledger = Ledger(
            ledger.quotes,
            None,
            ledger.payments,
            ledger.refunds,
            ledger.paid_quotes,
            ledger.supplementary_quote,
        )
    return _evolve(order, event, ledger=ledger)


def _estimated(order: WorkOrder, event: EstimateIssued) -> WorkOrder:
    """A quote; of works in progress a supplementary one (rule H4), the current quote (the
    one the works were paid by) staying as it is."""
    ledger = order.ledger
    quotes = (*ledger.quotes, event.quote)
    if event.before is State.IN_PROGRESS:
        supplementary = Ledger(
            quotes,
            ledger.current_quote,
            ledger.payments,
            ledger.refunds,
            ledger.paid_quotes,
            event.quote,
        )
        return _evolve(order, event, ledger=supplementary)
    return _evolve(
        order,
        event,
        ledger=Ledger(
            quotes,
            event.quote,
            ledger.payments,
            ledger.refunds,
            ledger.paid_quotes,
            ledger.supplementary_quote,
        ),
    )


def _paid(order: WorkOrder, event: PaymentReceived) -> WorkOrder:
    ledger = order.ledger
    quote, supplementary = ledger.current_quote, ledger.supplementary_quote
    if event.before is State.IN_PROGRESS:  # rule H5: the open supplementary quote
        quote, supplementary = supplementary, None
    return _evolve(
        order,
        event,
        ledger=Ledger(
            ledger.quotes,
            ledger.current_quote,
            (*ledger.payments, event.payment),
            ledger.refunds,
            ledger.paid_quotes if quote is None else (*ledger.paid_quotes, quote),
            supplementary,
        ),
    )


def _closing_supplementary_quote(ledger: Ledger) -> Ledger | None:
    """The ledger with no supplementary quote open, None if none was (rule H5)."""
    if ledger.supplementary_quote is None:
        return None
    return attrs.evolve(ledger, supplementary_quote=None)


def _without_supplementary_quote(order: WorkOrder, event: Event) -> WorkOrder:
    """The step leaves no supplementary quote open: declined, or the works failed."""
    return _evolve(order, event, ledger=_closing_supplementary_quote(order.ledger))


def _with_refunds(ledger: Ledger, refunds: tuple[Refund, ...]) -> Ledger:
    return Ledger(
        ledger.quotes,
        ledger.current_quote,
        ledger.payments,
        ledger.refunds + refunds,
        ledger.paid_quotes,
        ledger.supplementary_quote,
    )


def _settled(order: WorkOrder, event: RefundsSettled) -> WorkOrder:
    return _evolve(
        order,
        event,
        ledger=_with_refunds(order.ledger, event.refunds),
        works=_evolve_works(order.works, restored=event.restored),
    )


def _scheduled(order: WorkOrder, event: CompletionDateAnnounced) -> WorkOrder:
    return _evolve(
        order, event, works=_evolve_works(order.works, due=event.due, urgency=event.urgency)
    )


def _started(order: WorkOrder, event: WorksStarted) -> WorkOrder:
    return _evolve(
        order, event, works=_evolve_works(order.works, backup=event.backup, started_at=event.at)
    )


def _changed(order: WorkOrder, event: CustomerChangeRecorded) -> WorkOrder:
    works = order.works
    return _evolve(
        order,
        event,
        works=_evolve_works(
            works,
            customer_changes=(*works.customer_changes, event.at),
            changed_during_works=works.changed_during_works or works.started_at is not None,
        ),
    )


def _completed(order: WorkOrder, event: WorksCompleted) -> WorkOrder:
    ledger = order.ledger
    if event.unused_refunds:  # rule H2
        ledger = _with_refunds(ledger, event.unused_refunds)
    return _evolve(
        order,
        event,
        ledger=_closing_supplementary_quote(ledger) or ledger,  # rule H5
        works=_evolve_works(
            order.works,
            completed_at=event.at,
            completed_version=order.version + 1,
            notice_sent_at=event.notice_sent_at,
            claim_deadline=event.claim_deadline,
            window_claims=0,
        ),
    )


def _notice_sent(order: WorkOrder, event: CompletionNoticeSent) -> WorkOrder:
    return _evolve(
        order,
        event,
        works=_evolve_works(
            order.works, notice_sent_at=event.sent_at, claim_deadline=event.claim_deadline
        ),
    )


def _claimed(order: WorkOrder, event: ClaimFiled) -> WorkOrder:
    works = order.works
    return _evolve(
        order,
        event,
        works=_evolve_works(
            works,
            claim=Claim(event.at, event.text, remedy=event.remedy),
            window_claims=works.window_claims + 1,
        ),
    )


def _decided(works: Works, outcome: ClaimOutcome) -> Works:
    claim = works.claim
    if claim is None:  # pragma: no cover - `resolve_claim` checked the state
        raise InvalidTransition("a decision without a claim")
    return _evolve_works(works, claim=_evolve_claim(claim, outcome=outcome))


def _claim_accepted(order: WorkOrder, event: ClaimAccepted) -> WorkOrder:
    return _evolve(order, event, works=_decided(order.works, ClaimOutcome.REFUND))


def _claim_rejected(order: WorkOrder, event: ClaimRejected) -> WorkOrder:
    return _evolve(order, event, works=_decided(order.works, ClaimOutcome.REJECT))


def _rework_started(order: WorkOrder, event: ReworkStarted) -> WorkOrder:
    return _evolve(order, event, works=_decided(order.works, ClaimOutcome.REWORK))


def _withheld(order: WorkOrder, event: RestoreWithheld) -> WorkOrder:
    return _evolve(
        order,
        event,
        works=_evolve_works(
            order.works,
            restore_withheld=event.reason,
            conflicting_order=event.conflicting_order or None,
        ),
    )


def _restore_decided(order: WorkOrder, event: RestoreDecided) -> WorkOrder:
    return _evolve(
        order,
        event,
        works=_evolve_works(order.works, restore_override=event.restore, restored=event.restored),
    )


def _hours_logged(order: WorkOrder, event: HoursLogged) -> WorkOrder:
    spent = canonical(order.works.spent_hours + event.hours)
    return _evolve(order, event, works=_evolve_works(order.works, spent_hours=spent))


def _state_only(order: WorkOrder, event: Event) -> WorkOrder:
    return _evolve(order, event)


_APPLY: Final[dict[type[Event], Callable[[WorkOrder, Any], WorkOrder]]] = {
    RequestSupplemented: _supplemented,
    EstimateIssued: _estimated,
    QuoteDeclined: _without_supplementary_quote,
    PaymentReceived: _paid,
    CompletionDateAnnounced: _scheduled,
    OrderCancelled: _state_only,
    WorksStarted: _started,
    CustomerChangeRecorded: _changed,
    WorksCompleted: _completed,
    CompletionNoticeSent: _notice_sent,
    WorksFailed: _without_supplementary_quote,
    ClaimFiled: _claimed,
    ClaimAccepted: _claim_accepted,
    ClaimRejected: _claim_rejected,
    ReworkStarted: _rework_started,
    RefundsSettled: _settled,
    OrderClosed: _state_only,
    OrderWithdrawn: _state_only,
    RestoreWithheld: _withheld,
    RestoreDecided: _restore_decided,
    HoursLogged: _hours_logged,
}
