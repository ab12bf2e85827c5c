"""The work order aggregate, step by step and without use cases: the transition table, who
may act, time order, the ledger's invariants, claims, cancellation, price lock, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pendulum
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from komtet_works import (
    TRANSITIONS,
    Action,
    Actor,
    ActorKind,
    ActorNotAllowed,
    AmountMismatch,
    Backup,
    BackupNotConfirmed,
    CancellationNotAllowed,
    ClaimLimitReached,
    ClaimMustBeHonoured,
    ClaimOutcome,
    ClaimRemedy,
    Customer,
    InvalidHours,
    InvalidInput,
    InvalidRefund,
    InvalidTransition,
    KomtetWorksError,
    Ledger,
    Money,
    NaiveDatetime,
    NoCurrentQuote,
    NoticeAlreadySent,
    NoticeNotSent,
    NotOrderOwner,
    OutOfOrder,
    Payment,
    PaymentConflict,
    Policy,
    PriceLock,
    QuoteExpired,
    QuoteOutdated,
    Refund,
    ReworkNotAgreed,
    State,
    Tariff,
    WorkOrder,
)
from komtet_works.domain import recorded
from komtet_works.domain.events import (
    CompletionNoticeSent,
    EstimateIssued,
    OrderRequested,
    RequestSupplemented,
    WorksCompleted,
)
from komtet_works.domain.lifecycle import ACTORS, SUPPLEMENTARY_STEPS, TERMINAL, allowed_actions
from komtet_works.domain.work_order import MAX_TEXT
from komtet_works.entrypoints.presenters import order_lines
from komtet_works.testing.orders import (
    POLICY,
    REJECTING,
    STAFF,
    START,
    customer_for,
    in_state,
    notified,
    requested,
    take,
    walk,
)
from komtet_works.testing.strategies import histories
from komtet_works.use_cases import BILLING, CLOSING_JOB, NOTICE_RECORDER, REFUNDS
from strategies import instants, moneys, naive_datetimes, utc_datetimes

HOUR = timedelta(hours=1)
OWNER = Actor.customer("cust-1")
STRANGER = Actor.customer("cust-2")
CUSTOMER = customer_for("cust-1")


def later(order: WorkOrder, by: timedelta = HOUR) -> pendulum.DateTime:
    """An instant `by` after the order's last step."""
    return order.last_step_at + by


def quote_total(order: WorkOrder) -> Money:
    quote = order.ledger.current_quote
    assert quote is not None
    return quote.total


def receipts(order: WorkOrder) -> tuple[Refund, ...]:
    """Every payment not yet refunded, in full, with the billing system's receipt."""
    return tuple(
        attrs.evolve(due, reference=f"rf-{due.payment_id}") for due in order.ledger.refunds_due()
    )


def pay(
    order: WorkOrder,
    payment: Payment,
    *,
    at: object = None,
    policy: Policy | None = None,
    tariff: Tariff | None = None,
    customer: Customer = CUSTOMER,
) -> WorkOrder:
    return order.pay(
        by=BILLING,
        at=at if at is not None else later(order),
        payment=payment,
        policy=policy if policy is not None else Policy(),
        tariff=tariff if tariff is not None else Tariff(),
        customer=customer,
    )


def payment_of(order: WorkOrder, amount: Money | None = None, pid: str = "pay-1") -> Payment:
    return Payment(pid, amount if amount is not None else quote_total(order), later(order))


def enum_id(value: object) -> str:
    """A test id from a state or an action: its value."""
    return str(getattr(value, "value", value))


def refused(order: WorkOrder) -> WorkOrder:
    """What the order must still be after a refused step: its own replay."""
    return WorkOrder.replay(order.new_events)


# --- L1 ---------------------------------------------------------------------------------


@pytest.mark.rule("L1", "L11")
def test_a_request_opens_a_requested_order_with_its_first_event() -> None:
    """The order starts `requested`, version 1, its problem kept verbatim by the customer."""
    order = requested("wo-1", problem="  the shop answers 500\n", at=START)
    assert State.REQUESTED is order.state
    assert 1 == order.version
    event = order.new_events[0]
    assert isinstance(event, OrderRequested)
    assert (None, State.REQUESTED) == (event.before, event.after)
    assert OWNER == event.actor
    assert START == event.at
    assert "  the shop answers 500\n" == order.problem
    assert Ledger() == order.ledger
    assert () == recorded.supplements(order.new_events)


@pytest.mark.rule("L1")
@pytest.mark.parametrize(
    ("order_id", "problem", "field"),
    [
        ("", "p", "order_id"),
        ("  ", "p", "order_id"),
        (7, "p", "order_id"),
        ("wo-1", "", "problem"),
        ("wo-1", " \t\n", "problem"),
        ("wo-1", None, "problem"),
        ("wo-1", "x" * (MAX_TEXT + 1), "problem"),
    ],
)
def test_a_request_needs_an_order_id_and_a_problem_of_sensible_length(
    order_id: object, problem: object, field: str
) -> None:
    """An empty or non-text id or problem, or a problem over 100 000 characters, is refused."""
    with pytest.raises(InvalidInput) as refusal:
        WorkOrder.request(
            order_id=order_id,  # type: ignore[arg-type]
            customer=CUSTOMER,
            target="example.org",
            problem=problem,  # type: ignore[arg-type]
            at=START,
        )
    assert "invalid_input" == refusal.value.code
    assert field == refusal.value.field


@pytest.mark.rule("L1")
def test_the_longest_problem_is_accepted() -> None:
    """A problem of exactly 100 000 characters is kept."""
    assert MAX_TEXT == len(requested(problem="x" * MAX_TEXT).problem)


# --- L2, P7 -----------------------------------------------------------------------------


@pytest.mark.rule("L2", "P7")
def test_an_estimate_issues_the_current_quote_at_the_step_instant() -> None:
    """Staff's estimate prices the hours now; the quote is current and on record."""
    order = in_state(State.ESTIMATED)
    quote = order.ledger.current_quote
    assert quote is not None
    assert State.ESTIMATED is order.state
    assert (quote,) == order.ledger.quotes
    assert order.last_step_at == quote.issued_at
    assert Money.of("2500.00") == quote.total
    event = order.new_events[-1]
    assert isinstance(event, EstimateIssued)
    assert quote == event.quote


@pytest.mark.rule("L2", "P7")
def test_a_new_estimate_supersedes_the_old_quote_which_stays_on_record() -> None:
    """Estimating again makes the new quote current; both quotes stay in the ledger."""
    first = in_state(State.ESTIMATED)
    again = first.estimate(
        by=STAFF, at=later(first), hours="1", tariff=Tariff(), customer=CUSTOMER, policy=Policy()
    )
    old, new = again.ledger.quotes
    assert first.ledger.current_quote == old
    assert new == again.ledger.current_quote
    assert Money.of("1000.00") == new.total
    assert State.ESTIMATED is again.state


@pytest.mark.rule("L2", "P8", "L12")
@pytest.mark.parametrize("hours", [2.5, "NaN", "0", "-1", True, "abc", "10001", "1.0000001"])
def test_an_estimate_with_invalid_hours_is_refused_and_changes_nothing(hours: object) -> None:
    """Invalid hours are `invalid_input`; the order keeps its state and events."""
    order = requested()
    with pytest.raises(InvalidHours) as refusal:
        order.estimate(
            by=STAFF,
            at=later(order),
            hours=hours,  # type: ignore[arg-type]  # the run-time refusal
            tariff=Tariff(),
            customer=CUSTOMER,
            policy=Policy(),
        )
    assert "invalid_input" == refusal.value.code
    assert refused(order) == order


# --- L3 ---------------------------------------------------------------------------------


@pytest.mark.rule("L3", "I2")
def test_a_supplement_withdraws_the_quote_and_only_a_new_estimate_can_be_paid() -> None:
    """After a supplement the old quote is on record but not payable: `no_current_quote`."""
    estimated = in_state(State.ESTIMATED)
    old_total = quote_total(estimated)
    supplemented = estimated.supplement(by=OWNER, at=later(estimated), text="only on /cart")
    assert State.REQUESTED is supplemented.state
    assert supplemented.ledger.current_quote is None
    assert estimated.ledger.quotes == supplemented.ledger.quotes
    assert ("only on /cart",) == recorded.supplements(supplemented.new_events)
    assert isinstance(supplemented.new_events[-1], RequestSupplemented)
    with pytest.raises(NoCurrentQuote) as refusal:
        pay(supplemented, Payment("pay-1", old_total, later(supplemented)))
    assert "no_current_quote" == refusal.value.code
    again = take(supplemented, Action.ESTIMATE, later(supplemented), hours="1")
    assert State.PAID is pay(again, payment_of(again)).state


@pytest.mark.rule("L3")
def test_supplements_before_any_estimate_are_kept_in_order() -> None:
    """A requested order takes any number of supplements and stays requested."""
    order = requested()
    order = order.supplement(by=OWNER, at=later(order), text="first")
    order = order.supplement(by=OWNER, at=later(order), text="second")
    assert ("first", "second") == recorded.supplements(order.new_events)
    assert State.REQUESTED is order.state


@pytest.mark.rule("L3")
@pytest.mark.parametrize("text", ["", "  ", None, "y" * (MAX_TEXT + 1)])
def test_a_supplement_must_say_something(text: object) -> None:
    """An empty, non-text or too long supplement is `invalid_input`."""
    order = requested()
    with pytest.raises(InvalidInput) as refusal:
        order.supplement(by=OWNER, at=later(order), text=text)  # type: ignore[arg-type]
    assert "text" == refusal.value.field


# --- L4: the completion date ------------------------------------------------------------


@pytest.mark.rule("L4", "L13")
def test_the_completion_date_must_be_after_the_step() -> None:
    """A due date at or before the step's instant is refused; a later one may replace it."""
    paid = in_state(State.PAID)
    at = later(paid)
    for due in (at, at - HOUR):
        with pytest.raises(InvalidInput) as refusal:
            paid.schedule(by=STAFF, at=at, due=due)
        assert "due" == refusal.value.field
    scheduled = paid.schedule(by=STAFF, at=at, due=at + timedelta(seconds=1))
    moved = scheduled.schedule(by=STAFF, at=later(scheduled), due=at + timedelta(days=3))
    assert State.SCHEDULED is moved.state
    assert at + timedelta(days=3) == moved.works.due


@pytest.mark.rule("L4", "L13")
@given(due=naive_datetimes() | st.sampled_from(["2026-03-10T10:00:00+03:00", None]))
def test_a_completion_date_without_a_zone_is_refused(due: object) -> None:
    """A naive or non-datetime due date is `invalid_input` on the `due` field."""
    paid = in_state(State.PAID)
    with pytest.raises(NaiveDatetime) as refusal:
        paid.schedule(by=STAFF, at=later(paid), due=due)
    assert "due" == refusal.value.field


# --- L5 ---------------------------------------------------------------------------------


@pytest.mark.rule("L5", "L12")
def test_no_start_without_a_confirmed_backup() -> None:
    """An unverified backup is `backup_not_confirmed`; the order stays scheduled."""
    scheduled = in_state(State.SCHEDULED)
    at = later(scheduled)
    with pytest.raises(BackupNotConfirmed) as refusal:
        scheduled.start(by=STAFF, at=at, backup=Backup("bk-1", at, verified=False))
    assert "backup_not_confirmed" == refusal.value.code
    assert refused(scheduled) == scheduled


@pytest.mark.rule("L5")
def test_the_works_start_on_a_verified_backup_taken_at_the_start() -> None:
    """The backup and the start instant are recorded; the order is in progress."""
    scheduled = in_state(State.SCHEDULED)
    at = later(scheduled)
    backup = Backup("bk-1", at, verified=True)
    started = scheduled.start(by=STAFF, at=at, backup=backup)
    assert State.IN_PROGRESS is started.state
    assert backup == started.works.backup
    assert at == started.works.started_at


# --- L6 ---------------------------------------------------------------------------------

SELF_LOOPS = sorted(
    (before for before, action in TRANSITIONS if action is Action.CUSTOMER_CHANGE and before),
    key=lambda state: state.value,
)


@pytest.mark.rule("L6")
@pytest.mark.parametrize("state", SELF_LOOPS, ids=enum_id)
def test_a_customer_change_is_recorded_without_changing_the_state(state: State) -> None:
    """In every non-terminal state a change is kept with the provider's instant."""
    order = in_state(state)
    at = later(order)
    changed = order.record_customer_change(by=OWNER, at=at, note="edited a template")
    assert state is changed.state
    assert (*order.works.customer_changes, at) == changed.works.customer_changes
    assert "edited a template" == changed.new_events[-1].note


@pytest.mark.rule("L6", "L10")
@pytest.mark.parametrize("state", sorted(TERMINAL, key=enum_id), ids=enum_id)
def test_a_customer_change_on_a_finished_order_is_refused(state: State) -> None:
    """A terminal order records nothing more, not even a change."""
    order = in_state(state)
    with pytest.raises(InvalidTransition):
        order.record_customer_change(by=OWNER, at=later(order))


# --- L7 ---------------------------------------------------------------------------------


@pytest.mark.rule("L7")
def test_completion_records_the_notice_and_its_deadline() -> None:
    """The order is completed; the notice's send time and the claim deadline are kept."""
    started = in_state(State.IN_PROGRESS)
    sent = later(started)
    done = notified(started, at=sent, sent_at=sent, policy=Policy())
    assert State.COMPLETED is done.state
    assert sent == done.works.notice_sent_at
    assert sent + timedelta(days=3) == done.works.claim_deadline


@pytest.mark.rule("C1", "L7")
def test_the_completion_step_opens_no_window_until_the_notice_is_sent() -> None:
    """Completed, the notice not yet sent: no deadline, and claims and closing are refused
    with `notice_not_sent`, the order unchanged."""
    started = in_state(State.IN_PROGRESS)
    done = started.complete(by=STAFF, at=later(started))
    assert State.COMPLETED is done.state
    assert (None, None) == (done.works.notice_sent_at, done.works.claim_deadline)
    with pytest.raises(NoticeNotSent) as claim_refused:
        done.claim(by=OWNER, at=later(done), text="still broken", policy=POLICY)
    with pytest.raises(NoticeNotSent) as close_refused:
        done.close(by=CLOSING_JOB, at=later(done, timedelta(days=30)))
    assert ("notice_not_sent", "notice_not_sent") == (
        claim_refused.value.code,
        close_refused.value.code,
    )
    assert State.COMPLETED is done.state


@pytest.mark.rule("C1")
@given(late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)))
def test_the_window_counts_from_the_send_time_the_notifier_reported(late: timedelta) -> None:
    """The send time, however late after the completion, starts the window; the state
    stays `completed` and the step is recorded as the system's."""
    started = in_state(State.IN_PROGRESS)
    done = started.complete(by=STAFF, at=later(started))
    sent = done.last_step_at + late
    noticed = done.record_notice_sent(by=NOTICE_RECORDER, at=sent, sent_at=sent, policy=POLICY)
    event = noticed.new_events[-1]
    assert isinstance(event, CompletionNoticeSent)
    assert (State.COMPLETED, State.COMPLETED) == (event.before, event.after)
    assert sent + timedelta(days=3) == noticed.works.claim_deadline
    assert noticed == WorkOrder.replay(noticed.new_events)


@pytest.mark.rule("C1")
def test_a_completion_notice_is_recorded_once() -> None:
    """A second send time for the same completion is refused; the first window stands."""
    done = in_state(State.COMPLETED)
    with pytest.raises(NoticeAlreadySent) as refused:
        done.record_notice_sent(
            by=NOTICE_RECORDER, at=later(done), sent_at=later(done), policy=POLICY
        )
    assert "notice_already_sent" == refused.value.code


@pytest.mark.rule("C1")
def test_only_the_system_records_a_notice_and_never_before_the_completion() -> None:
    """Staff and customers cannot record a send time; nor can one precede the completion."""
    started = in_state(State.IN_PROGRESS)
    done = started.complete(by=STAFF, at=later(started))
    at = later(done)
    for actor in (STAFF, OWNER):
        with pytest.raises(ActorNotAllowed):
            done.record_notice_sent(by=actor, at=at, sent_at=at, policy=POLICY)
    with pytest.raises(InvalidInput) as refused:
        done.record_notice_sent(
            by=NOTICE_RECORDER, at=at, sent_at=done.last_step_at - HOUR, policy=POLICY
        )
    assert "sent_at" == refused.value.field


@pytest.mark.rule("C1")
def test_a_completion_stored_with_its_deadline_still_replays() -> None:
    """A WorksCompleted event of the old form, carrying its send time and deadline, rebuilds
    the order with that window."""
    started = in_state(State.IN_PROGRESS)
    sent = later(started)
    old = WorksCompleted(
        started.id,
        STAFF,
        sent,
        State.IN_PROGRESS,
        State.COMPLETED,
        notice_sent_at=sent,
        claim_deadline=sent + timedelta(days=3),
    )
    order = WorkOrder.replay((*started.new_events, old))
    assert (sent, sent + timedelta(days=3)) == (
        order.works.notice_sent_at,
        order.works.claim_deadline,
    )


# --- L8, I4 -----------------------------------------------------------------------------


@pytest.mark.rule("L8", "I4", "D-RESTORE")
@pytest.mark.parametrize("restored", [True, False])
def test_failed_works_refund_every_payment_and_record_the_restore(restored: bool) -> None:
    """Not solved: the order is refunded in full, and whether the data came back is kept."""
    started = in_state(State.IN_PROGRESS)
    failing = started.fail(by=STAFF, at=later(started))
    failed = settle(failing, receipts(started), restored=restored)
    assert (State.REFUNDING, State.REFUNDED) == (failing.state, failed.state)
    assert failed.ledger.paid == failed.ledger.refunded
    assert receipts(started) == failed.ledger.refunds
    assert restored is failed.works.restored
    assert () == failed.ledger.refunds_due()


def settle(order: WorkOrder, refunds: tuple[Refund, ...], *, restored: bool | None) -> WorkOrder:
    return order.settle_refunds(by=REFUNDS, at=later(order), refunds=refunds, restored=restored)


@pytest.mark.rule("L8", "C3", "D-CANCELLATION")
@pytest.mark.parametrize("state", [State.REFUNDING, State.CANCELLING])
def test_the_intent_to_refund_moves_no_money_and_allows_only_the_settlement(
    state: State,
) -> None:
    """Refunding and cancelling record no refund, and take no step but SETTLE_REFUND."""
    order = in_state(state)
    assert len(order.ledger.payments) == len(order.ledger.refunds_due())
    assert () == order.ledger.refunds
    assert frozenset({Action.SETTLE_REFUND}) == allowed_actions(state)


@pytest.mark.rule("L8", "D-CANCELLATION", "D-RESTORE", "L12")
@pytest.mark.parametrize(
    ("state", "restored"),
    [(State.REFUNDING, None), (State.CANCELLING, True), (State.CANCELLING, False)],
)
def test_a_settlement_records_a_restore_exactly_when_there_were_works(
    state: State, restored: bool | None
) -> None:
    """Refunding needs restored true/false; a cancellation restores nothing: None."""
    order = in_state(state)
    with pytest.raises(InvalidInput) as refusal:
        settle(order, receipts(order), restored=restored)
    assert "restored" == refusal.value.field
    assert refused(order) == order


def halved(order: WorkOrder) -> tuple[Refund, ...]:
    return tuple(
        attrs.evolve(refund, amount=Money.of(f"{refund.amount.amount / 2:.2f}"))
        for refund in receipts(order)
    )


def unreceipted(order: WorkOrder) -> tuple[Refund, ...]:
    return tuple(attrs.evolve(refund, reference="") for refund in receipts(order))


def doubled(order: WorkOrder) -> tuple[Refund, ...]:
    return receipts(order) * 2


def stranger(order: WorkOrder) -> tuple[Refund, ...]:
    return (Refund("pay-unknown", Money.of("1.00"), "rf-x"),)


def missing(order: WorkOrder) -> tuple[Refund, ...]:
    return ()


def excessive(order: WorkOrder) -> tuple[Refund, ...]:
    return tuple(
        attrs.evolve(refund, amount=refund.amount + Money.of("0.01")) for refund in receipts(order)
    )


@pytest.mark.rule("L8", "I4", "L12")
@pytest.mark.parametrize("refunds", [halved, unreceipted, doubled, stranger, missing, excessive])
def test_failure_without_every_payment_refunded_in_full_is_refused(
    refunds: object,
) -> None:
    """Partial, unreceipted, double, unknown, missing or excess refunds: `invalid_refund`."""
    failing = in_state(State.REFUNDING)
    with pytest.raises(InvalidRefund) as refusal:
        settle(failing, refunds(failing), restored=True)  # type: ignore[operator]
    assert "invalid_refund" == refusal.value.code
    assert refused(failing) == failing


# --- L10 --------------------------------------------------------------------------------

ALL_PAIRS = [
    (state, action) for state in State for action in Action if action is not Action.REQUEST
]


@pytest.mark.rule("L10", "L12")
@pytest.mark.parametrize(
    ("state", "action"),
    [pair for pair in ALL_PAIRS if pair not in TRANSITIONS],
    ids=enum_id,
)
def test_every_step_outside_the_table_is_an_invalid_transition(
    state: State, action: Action
) -> None:
    """Steps outside the table are `invalid_transition` (`no_current_quote` for an unquoted pay)."""
    order = in_state(state)
    expected = (
        NoCurrentQuote if (state, action) == (State.REQUESTED, Action.PAY) else InvalidTransition
    )
    with pytest.raises(expected):
        take(order, action, later(order, timedelta(days=30)))
    assert refused(order) == order


@pytest.mark.rule("L10", "L11")
@pytest.mark.parametrize(
    ("state", "action"), [pair for pair in ALL_PAIRS if pair in TRANSITIONS], ids=enum_id
)
def test_every_step_in_the_table_leads_where_the_table_says(state: State, action: Action) -> None:
    """Each allowed step ends in the table's state and records one event saying so."""
    order = in_state(state)
    if action is Action.NOTICE_SENT:  # of a completion whose notice waits
        order = take(in_state(State.IN_PROGRESS), Action.COMPLETE, later(order))
    if (state, action) in SUPPLEMENTARY_STEPS and action is not Action.ESTIMATE:
        order = take(order, Action.ESTIMATE, later(order))  # a supplementary quote open
    wait = timedelta(days=4) if action is Action.CLOSE else HOUR
    after = take(order, action, later(order, wait))
    assert TRANSITIONS[state, action] is after.state
    assert order.version + 1 == after.version
    assert (state, after.state) == (after.new_events[-1].before, after.new_events[-1].after)


@pytest.mark.rule("L10", "H4", "H5", "D-OVERRUN")
@pytest.mark.parametrize(("state", "action"), sorted(SUPPLEMENTARY_STEPS, key=str), ids=enum_id)
def test_the_supplementary_steps_are_invalid_transitions_without_their_policy_or_quote(
    state: State, action: Action
) -> None:
    """Under the default policy works in progress take no estimate; with no supplementary
    quote open they take no payment and no decline: `invalid_transition`, as outside the table."""
    order = in_state(state)
    at = later(order)
    customer = Actor.customer(order.customer_id)
    steps = {
        Action.ESTIMATE: lambda: order.estimate(
            by=STAFF, at=at, hours="1", tariff=Tariff(), customer=CUSTOMER, policy=Policy()
        ),
        Action.PAY: lambda: take(order, Action.PAY, at),
        Action.DECLINE: lambda: order.decline(by=customer, at=at),
    }
    with pytest.raises(InvalidTransition, match=f"cannot {action.value} an order that is"):
        steps[action]()
    with pytest.raises(InvalidTransition):
        order.check(action, {Action.ESTIMATE: STAFF, Action.PAY: BILLING}.get(action, customer), at)


@pytest.mark.rule("L10")
def test_the_terminal_states_are_those_no_step_leaves() -> None:
    """Declined, cancelled, refunded, closed and withdrawn allow nothing; a new order only a
    request."""
    assert {
        State.DECLINED,
        State.CANCELLED,
        State.REFUNDED,
        State.CLOSED,
        State.WITHDRAWN,
    } == TERMINAL
    for state in TERMINAL:
        assert frozenset() == allowed_actions(state)
    assert frozenset({Action.REQUEST}) == allowed_actions(None)


# --- L11 --------------------------------------------------------------------------------


@pytest.mark.rule("L11", "L13")
@given(order=histories())
def test_replaying_the_events_rebuilds_the_order(order: WorkOrder) -> None:
    """Any history replays to the same order; its events chain states in time order."""
    assert order == WorkOrder.replay(order.new_events)
    assert order == WorkOrder.replay(iter(order.new_events))
    assert len(order.new_events) == order.version
    assert order.new_events[0].before is None
    for earlier, event in zip(order.new_events, order.new_events[1:], strict=False):
        assert earlier.after is event.before
        assert earlier.at <= event.at
    assert order.state is order.new_events[-1].after


@pytest.mark.rule("L11")
@pytest.mark.parametrize("events", [(), "later events only"], ids=["empty", "no request"])
def test_a_history_must_start_with_the_request(events: object) -> None:
    """Replay refuses an empty history or one that does not open with OrderRequested."""
    history = in_state(State.ESTIMATED).new_events[1:] if events else ()
    with pytest.raises(InvalidInput) as refusal:
        WorkOrder.replay(history)
    assert "events" == refusal.value.field


@pytest.mark.rule("L11")
def test_events_say_who_when_why_and_the_states_around_them() -> None:
    """A decline is recorded with the customer, the instant, the note and both states."""
    estimated = in_state(State.ESTIMATED)
    at = later(estimated)
    declined = estimated.decline(by=OWNER, at=at, note="too expensive")
    event = declined.new_events[-1]
    assert (OWNER, at, "too expensive") == (event.actor, event.at, event.note)
    assert (State.ESTIMATED, State.DECLINED) == (event.before, event.after)
    assert "customer cust-1" == str(event.actor)


@pytest.mark.rule("L11")
def test_the_customers_words_never_show_in_a_repr() -> None:
    """Problem, supplements, notes and claim texts are redacted from reprs (logs)."""
    order = requested(problem="secret-problem")
    order = order.supplement(by=OWNER, at=later(order), text="secret-supplement")
    order = take(order, Action.ESTIMATE, later(order))
    order = order.decline(by=OWNER, at=later(order), note="secret-note")
    shown = repr(order) + "".join(repr(event) for event in order.new_events)
    assert "secret" not in shown
    assert "<redacted>" in shown


# --- L12 --------------------------------------------------------------------------------


@pytest.mark.rule("L12")
@given(
    order=histories(max_steps=8),
    action=st.sampled_from([a for a in Action if a is not Action.REQUEST]),
    shift=st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=5)),
)
def test_a_refused_step_changes_nothing(order: WorkOrder, action: Action, shift: timedelta) -> None:
    """Any step at any time: refused, the order is exactly its history; taken, one more event."""
    before = refused(order)
    try:
        after = take(order, action, later(order, shift))
    except KomtetWorksError:
        assert before == order
        assert before.version == order.version
    else:
        assert order.version + 1 == after.version
        assert before == order


# --- L13 --------------------------------------------------------------------------------


@pytest.mark.rule("L13", "L12")
@given(earlier=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=9)))
def test_a_step_dated_before_the_last_one_is_out_of_order(earlier: timedelta) -> None:
    """Even one microsecond before the last step is `out_of_order`."""
    order = in_state(State.ESTIMATED)
    with pytest.raises(OutOfOrder) as refusal:
        order.decline(by=OWNER, at=order.last_step_at - earlier)
    assert "out_of_order" == refusal.value.code
    assert refused(order) == order


@pytest.mark.rule("L13")
@given(at=instants())
def test_a_step_at_the_same_instant_as_the_last_is_accepted_in_any_zone(
    at: pendulum.DateTime,
) -> None:
    """Two steps at one instant are in order, however each instant is written."""
    order = requested(at=at.in_timezone("UTC"))
    assert State.REQUESTED is order.supplement(by=OWNER, at=at, text="more").state


@pytest.mark.rule("L13")
@given(at=naive_datetimes() | st.sampled_from(["2026-03-02T11:00:00+03:00", 1_772_438_400, None]))
def test_an_instant_without_a_zone_is_refused(at: object) -> None:
    """A naive datetime, a string or a number as `at` is `invalid_input`, new order or step."""
    with pytest.raises(NaiveDatetime) as on_request:
        requested(at=at)  # type: ignore[arg-type]
    order = requested()
    with pytest.raises(NaiveDatetime) as on_step:
        order.supplement(by=OWNER, at=at, text="more")
    for refusal in (on_request, on_step):
        assert "invalid_input" == refusal.value.code
        assert "at" == refusal.value.field


@pytest.mark.rule("L13")
@given(at=utc_datetimes())
def test_a_standard_library_aware_datetime_is_an_instant(at: datetime) -> None:
    """Aware stdlib datetimes are accepted and kept as the same instant."""
    order = requested(at=pendulum.instance(at).subtract(hours=1))
    supplemented = order.supplement(by=OWNER, at=at, text="more")
    assert at == supplemented.last_step_at
    assert isinstance(supplemented.last_step_at, pendulum.DateTime)


@pytest.mark.rule("L13")
@given(at=instants(zone=st.just(pendulum.UTC)), zone=st.sampled_from(["Europe/Berlin", "UTC"]))
def test_a_pendulum_datetime_with_a_standard_library_zone_is_an_instant(
    at: pendulum.DateTime, zone: str
) -> None:
    """A pendulum DateTime carrying a zoneinfo zone is accepted as the same instant."""
    shown = pendulum.instance(at).astimezone(ZoneInfo(zone))
    order = requested(at=at.subtract(hours=1))
    supplemented = order.supplement(by=OWNER, at=shown, text="more")
    assert at == supplemented.last_step_at


# --- L14 --------------------------------------------------------------------------------

ACTOR_OF_KIND = {
    ActorKind.CUSTOMER: OWNER,
    ActorKind.STAFF: STAFF,
    ActorKind.SYSTEM: CLOSING_JOB,
}


@pytest.mark.rule("L14")
@pytest.mark.parametrize(
    ("action", "kind"),
    [(a, k) for a in Action for k in ActorKind if a is not Action.REQUEST and k not in ACTORS[a]],
    ids=enum_id,
)
def test_each_action_is_refused_to_the_kinds_of_actor_not_allowed_it(
    action: Action, kind: ActorKind
) -> None:
    """Staff do not pay, the billing system does not estimate, customers do not start."""
    order = in_state(State.ESTIMATED)
    with pytest.raises(ActorNotAllowed) as refusal:
        order.check(action, ACTOR_OF_KIND[kind], later(order))
    assert "actor_not_allowed" == refusal.value.code


@pytest.mark.rule("L14")
def test_the_steps_themselves_refuse_the_wrong_actor() -> None:
    """A customer cannot estimate and staff cannot decline, through the steps themselves."""
    order = in_state(State.ESTIMATED)
    with pytest.raises(ActorNotAllowed):
        order.estimate(
            by=OWNER,
            at=later(order),
            hours="1",
            tariff=Tariff(),
            customer=CUSTOMER,
            policy=Policy(),
        )
    with pytest.raises(ActorNotAllowed):
        order.decline(by=STAFF, at=later(order))
    with pytest.raises(ActorNotAllowed):
        order.pay(
            by=STAFF,
            at=later(order),
            payment=payment_of(order),
            policy=Policy(),
            tariff=Tariff(),
            customer=CUSTOMER,
        )


@pytest.mark.rule("L14")
@pytest.mark.parametrize("action", [a for a in Action if a is not Action.REQUEST])
def test_a_customer_acts_only_on_their_own_orders(action: Action) -> None:
    """Another customer is `not_order_owner`, checked before the kind of actor."""
    order = in_state(State.ESTIMATED)
    with pytest.raises(NotOrderOwner) as refusal:
        order.check(action, STRANGER, later(order))
    assert "not_order_owner" == refusal.value.code
    with pytest.raises(NotOrderOwner):
        order.decline(by=STRANGER, at=later(order))


@pytest.mark.rule("L14")
def test_the_checks_run_in_the_documented_order() -> None:
    """Checks run in order: aware time, owner, actor kind, table, then time order."""
    order = in_state(State.ESTIMATED)
    naive = datetime(2026, 3, 2, 12)  # noqa: DTZ001 - the point of the check
    with pytest.raises(NaiveDatetime):
        order.check(Action.START, STRANGER, naive)
    with pytest.raises(NotOrderOwner):
        order.check(Action.START, STRANGER, START)
    with pytest.raises(ActorNotAllowed):
        order.check(Action.START, OWNER, START)
    with pytest.raises(InvalidTransition):
        order.check(Action.START, STAFF, START)
    with pytest.raises(OutOfOrder):
        order.check(Action.DECLINE, OWNER, START)


# --- I1, I2, I3 -------------------------------------------------------------------------


@pytest.mark.rule("I1", "I4")
@given(order=histories())
def test_paid_is_the_sum_of_payments_and_refunds_never_exceed_it(order: WorkOrder) -> None:
    """Any history: paid and refunded are sums of records; each payment refunded once at most."""
    ledger = order.ledger
    assert sum((p.amount.amount for p in ledger.payments), Decimal(0)) == ledger.paid.amount
    assert sum((r.amount.amount for r in ledger.refunds), Decimal(0)) == ledger.refunded.amount
    assert ledger.refunded <= ledger.paid
    refunded_ids = [r.payment_id for r in ledger.refunds]
    assert len(set(refunded_ids)) == len(refunded_ids)
    amounts = {p.id: p.amount for p in ledger.payments}
    for refund in ledger.refunds:
        assert refund.amount <= amounts[refund.payment_id]


@pytest.mark.rule("I1")
def test_an_order_without_payments_has_paid_zero_in_its_currency() -> None:
    """Nothing paid is 0.00 in the quote's currency, or rubles before any quote."""
    assert Money.zero("RUB") == requested().ledger.paid
    euro = Tariff(hourly_rate=Money.of("80.00", "EUR"))
    order = requested()
    order = order.estimate(
        by=STAFF, at=later(order), hours="1", tariff=euro, customer=CUSTOMER, policy=Policy()
    )
    assert Money.zero("EUR") == order.ledger.paid
    assert Money.zero("EUR") == order.ledger.refunded


@pytest.mark.rule("I2", "L12")
@given(amount=moneys(currency="RUB"))
def test_a_payment_must_match_the_quote_total_exactly(amount: Money) -> None:
    """Any amount but the total is `amount_mismatch`; the order stays estimated."""
    order = in_state(State.ESTIMATED)
    assume(amount != quote_total(order))
    with pytest.raises(AmountMismatch) as refusal:
        pay(order, payment_of(order, amount))
    assert "amount_mismatch" == refusal.value.code
    assert refused(order) == order


@pytest.mark.rule("I2", "I1")
@pytest.mark.parametrize(
    ("written", "accepted"),
    [("2499.99", False), ("2500.01", False), ("2500", True), ("2500.00", True)],
)
def test_a_kopeck_off_is_refused_and_2500_is_2500_00(written: str, accepted: bool) -> None:
    """2499.99 and 2500.01 are refused for a 2500.00 quote; "2500" is the same money."""
    order = in_state(State.ESTIMATED)
    payment = payment_of(order, Money.of(written))
    if accepted:
        paid = pay(order, payment)
        assert State.PAID is paid.state
        assert Money.of("2500.00") == paid.ledger.paid
        assert (payment,) == paid.ledger.payments
    else:
        with pytest.raises(AmountMismatch):
            pay(order, payment)


@pytest.mark.rule("I2", "D-QUOTE-VALIDITY")
@given(
    issued=instants(),
    valid_for=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=14)),
)
def test_a_quote_is_payable_until_its_last_instant_and_not_after(
    issued: pendulum.DateTime, valid_for: timedelta
) -> None:
    """Paying at payable_until is accepted; one microsecond later is `quote_expired`."""
    policy = Policy(quote_valid_for=valid_for)
    order = requested(at=issued)
    order = order.estimate(
        by=STAFF, at=issued, hours="2", tariff=Tariff(), customer=CUSTOMER, policy=policy
    )
    until = order.ledger.current_quote.payable_until  # type: ignore[union-attr]
    assert State.PAID is pay(order, payment_of(order), at=until, policy=policy).state
    with pytest.raises(QuoteExpired) as refusal:
        pay(order, payment_of(order), at=until + timedelta(microseconds=1), policy=policy)
    assert "quote_expired" == refusal.value.code


@pytest.mark.rule("I3")
@pytest.mark.parametrize("then", [State.PAID, State.SCHEDULED, State.CANCELLED, State.CLOSED])
def test_the_same_payment_reported_again_counts_once_whatever_the_state(then: State) -> None:
    """A repeated payment (same id, same amount) returns the very same order: no event."""
    order = walk(requested(), then)
    payment = order.ledger.payments[0]
    again = pay(order, payment, at=later(order))
    assert again is order
    assert 1 == len(again.ledger.payments)


@pytest.mark.rule("I3", "L12")
@given(amount=moneys(currency="RUB"))
def test_the_same_payment_id_with_another_amount_is_a_conflict(amount: Money) -> None:
    """Same id, different amount: `payment_conflict`, nothing recorded."""
    order = in_state(State.PAID)
    payment = order.ledger.payments[0]
    assume(amount != payment.amount)
    with pytest.raises(PaymentConflict) as refusal:
        pay(order, attrs.evolve(payment, amount=amount))
    assert "payment_conflict" == refusal.value.code
    assert refused(order) == order


@pytest.mark.rule("I3", "L10")
def test_a_second_payment_under_another_id_is_not_a_repeat() -> None:
    """A new payment id on a paid order is a new step: `invalid_transition`."""
    order = in_state(State.PAID)
    with pytest.raises(InvalidTransition):
        pay(order, payment_of(order, order.ledger.paid, pid="pay-2"))


# --- I4: the ledger's own refund checks --------------------------------------------------

PAYMENT = Payment("p1", Money.of("100.00"), START)


@pytest.mark.rule("I4")
@pytest.mark.parametrize(
    ("ledger", "refund"),
    [
        (Ledger(payments=(PAYMENT,)), Refund("p2", Money.of("1.00"), "r")),
        (Ledger(payments=(PAYMENT,)), Refund("p1", Money.of("100.01"), "r")),
        (Ledger(payments=(PAYMENT,)), Refund("p1", Money.of("0.00"), "r")),
        (Ledger(payments=(PAYMENT,)), Refund("p1", Money.of("-1.00"), "r")),
        (
            Ledger(payments=(PAYMENT,), refunds=(Refund("p1", Money.of("100.00"), "r"),)),
            Refund("p1", Money.of("1.00"), "r2"),
        ),
    ],
    ids=["unknown payment", "more than paid", "zero", "negative", "refunded before"],
)
def test_the_ledger_refuses_refunds_that_do_not_fit_a_payment(
    ledger: Ledger, refund: Refund
) -> None:
    """Refunds name a payment, are above zero, at most its amount, and come once."""
    with pytest.raises(InvalidRefund) as refusal:
        ledger.check_refunds((refund,))
    assert "invalid_refund" == refusal.value.code


@pytest.mark.rule("I4")
def test_refunds_due_are_the_payments_not_yet_refunded_in_full() -> None:
    """Refunding everything means each payment not refunded before, at its amount."""
    second = Payment("p2", Money.of("50.00"), START)
    ledger = Ledger(payments=(PAYMENT, second), refunds=(Refund("p1", Money.of("100.00"), "r1"),))
    assert (Refund("p2", Money.of("50.00"), ""),) == ledger.refunds_due()
    ledger.check_refunds((Refund("p2", Money.of("50.00"), "r2"),))


# --- C3 ---------------------------------------------------------------------------------


def _outcome(order: WorkOrder) -> ClaimOutcome | None:
    """The outcome of the order's latest claim, as its state keeps it and as its history
    (every claim, for people) tells it."""
    claim = order.works.claim
    assert claim is not None
    assert recorded.claims(order.new_events)[-1] == claim
    return claim.outcome


@pytest.mark.rule("C3", "D-CLAIMS", "L8")
@pytest.mark.parametrize("restored", [True, False])
def test_an_accepted_claim_refunds_everything_and_records_the_restore(restored: bool) -> None:
    """Outcome refund: the order is refunded in full, the claim marked refund."""
    claimed = in_state(State.CLAIMED)
    accepted = claimed.resolve_claim(
        by=STAFF, at=later(claimed), outcome=ClaimOutcome.REFUND, policy=POLICY
    )
    assert (State.REFUNDING, ()) == (accepted.state, accepted.ledger.refunds)
    done = settle(accepted, receipts(claimed), restored=restored)
    assert State.REFUNDED is done.state
    assert done.ledger.paid == done.ledger.refunded
    assert ClaimOutcome.REFUND is _outcome(done)
    assert restored is done.works.restored


@pytest.mark.rule("C3", "I4")
def test_an_accepted_claim_must_refund_in_full() -> None:
    """Half a refund does not settle an accepted claim: `invalid_refund`."""
    claimed = in_state(State.CLAIMED)
    accepted = claimed.resolve_claim(
        by=STAFF, at=later(claimed), outcome=ClaimOutcome.REFUND, policy=POLICY
    )
    with pytest.raises(InvalidRefund):
        settle(accepted, halved(accepted), restored=True)
    assert refused(accepted) == accepted


@pytest.mark.rule("C3", "C5", "D-CLAIMS")
def test_a_rejected_claim_returns_to_completed_with_the_same_deadline() -> None:
    """Reject where the policy allows it: back to completed, the deadline unchanged."""
    claimed = in_state(State.CLAIMED)
    done = claimed.resolve_claim(
        by=STAFF,
        at=later(claimed),
        outcome=ClaimOutcome.REJECT,
        policy=REJECTING,
        note="works as specified",
    )
    assert State.COMPLETED is done.state
    assert ClaimOutcome.REJECT is _outcome(done)
    assert claimed.works.claim_deadline == done.works.claim_deadline
    assert "works as specified" == done.new_events[-1].note


@pytest.mark.rule("C3", "D-CLAIMS", "L7")
def test_rework_reopens_the_works_and_the_next_notice_sets_a_new_deadline() -> None:
    """Outcome rework: back in progress; completing again restarts the window."""
    claimed = in_state(State.CLAIMED)
    reworked = claimed.resolve_claim(
        by=STAFF, at=later(claimed), outcome=ClaimOutcome.REWORK, policy=POLICY
    )
    assert State.IN_PROGRESS is reworked.state
    assert ClaimOutcome.REWORK is _outcome(reworked)
    sent = later(reworked)
    again = notified(reworked, at=sent, sent_at=sent, policy=Policy())
    assert sent + timedelta(days=3) == again.works.claim_deadline
    assert sent == again.works.notice_sent_at


# --- C5: claims honoured -----------------------------------------------------------------


def claimed_for(remedy: ClaimRemedy) -> WorkOrder:
    """A completed order with a claim in time, no customer change, asking for `remedy`."""
    done = in_state(State.COMPLETED)
    customer = Actor.customer(done.customer_id)
    return done.claim(
        by=customer, at=later(done), text="still broken", policy=POLICY, remedy=remedy
    )


@pytest.mark.rule("C5", "D-CLAIMS")
@given(remedy=st.sampled_from(ClaimRemedy), note=st.text(max_size=20))
def test_under_the_default_policy_a_claim_in_time_cannot_be_rejected(
    remedy: ClaimRemedy, note: str
) -> None:
    """Whatever the customer asked for and staff say, reject is `claim_must_be_honoured`."""
    claimed = claimed_for(remedy)
    with pytest.raises(ClaimMustBeHonoured) as refusal:
        claimed.resolve_claim(
            by=STAFF, at=later(claimed), outcome=ClaimOutcome.REJECT, policy=POLICY, note=note
        )
    assert "claim_must_be_honoured" == refusal.value.code
    assert refused(claimed) == claimed


@pytest.mark.rule("C5")
@pytest.mark.parametrize("remedy", ["refund", None, ClaimOutcome.REFUND])
def test_a_remedy_that_is_no_claim_remedy_is_invalid_input(remedy: object) -> None:
    """The domain takes a ClaimRemedy only: text or an outcome is refused, naming the field."""
    done = in_state(State.COMPLETED)
    with pytest.raises(InvalidInput) as refusal:
        done.claim(
            by=Actor.customer(done.customer_id),
            at=later(done),
            text="still broken",
            policy=POLICY,
            remedy=remedy,  # type: ignore[arg-type]
        )
    assert "remedy" == refusal.value.field


@pytest.mark.rule("C5", "D-CLAIMS")
def test_staff_rework_only_a_claim_whose_customer_asked_for_it() -> None:
    """A refund claim cannot be reworked (`rework_not_agreed`), even where rejects are allowed."""
    claimed = claimed_for(ClaimRemedy.REFUND)
    for policy in (POLICY, REJECTING):
        with pytest.raises(ReworkNotAgreed) as refusal:
            claimed.resolve_claim(
                by=STAFF, at=later(claimed), outcome=ClaimOutcome.REWORK, policy=policy
            )
        assert "rework_not_agreed" == refusal.value.code
    assert claimed.works.claim is not None
    assert ClaimRemedy.REFUND is claimed.works.claim.remedy


@pytest.mark.rule("C5", "D-CLAIMS")
@pytest.mark.parametrize("remedy", list(ClaimRemedy))
def test_the_refund_is_always_open_whatever_the_remedy(remedy: ClaimRemedy) -> None:
    """The seed's right is the refund: staff may refund a claim that asked for rework too."""
    claimed = claimed_for(remedy)
    accepted = claimed.resolve_claim(
        by=STAFF, at=later(claimed), outcome=ClaimOutcome.REFUND, policy=POLICY
    )
    assert State.REFUNDING is accepted.state


@pytest.mark.rule("C5", "C3", "D-CLAIMS")
@given(max_claims=st.integers(min_value=1, max_value=3), windows=st.integers(1, 3))
def test_max_claims_counts_per_completion_notice(max_claims: int, windows: int) -> None:
    """Each notice opens a window for `max_claims` claims; one more in it is refused."""
    policy = Policy(max_claims=max_claims, claims_may_be_rejected=True)
    order = in_state(State.COMPLETED)
    customer = Actor.customer(order.customer_id)
    for window in range(windows):
        for _ in range(max_claims - 1):
            order = order.claim(by=customer, at=later(order), text="again", policy=policy)
            order = order.resolve_claim(
                by=STAFF, at=later(order), outcome=ClaimOutcome.REJECT, policy=policy
            )
        order = order.claim(
            by=customer, at=later(order), text="again", policy=policy, remedy=ClaimRemedy.REWORK
        )
        assert max_claims == order.works.window_claims
        if window < windows - 1:
            order = order.resolve_claim(
                by=STAFF, at=later(order), outcome=ClaimOutcome.REWORK, policy=policy
            )
            sent = later(order)
            order = notified(order, at=sent, sent_at=sent, policy=policy)
            assert 0 == order.works.window_claims
    order = order.resolve_claim(
        by=STAFF, at=later(order), outcome=ClaimOutcome.REJECT, policy=policy
    )
    with pytest.raises(ClaimLimitReached):
        order.claim(by=customer, at=later(order), text="once more", policy=policy)
    claims = recorded.claims(order.new_events)
    assert max_claims * windows == len(claims)
    assert claims[-1] == order.works.claim  # the state keeps the latest, decided


# --- D-CANCELLATION ---------------------------------------------------------------------


@pytest.mark.rule("D-CANCELLATION", "I4")
@pytest.mark.parametrize("state", [State.PAID, State.SCHEDULED])
def test_a_paid_order_cancelled_before_the_works_is_refunded_in_full(state: State) -> None:
    """Before the works start, cancelling refunds every payment; the order is cancelled."""
    order = in_state(state)
    cancelling = order.cancel(by=OWNER, at=later(order), policy=Policy())
    cancelled = settle(cancelling, receipts(order), restored=None)
    assert (State.CANCELLING, State.CANCELLED) == (cancelling.state, cancelled.state)
    assert cancelled.works.restored is None
    assert cancelled.ledger.paid == cancelled.ledger.refunded
    assert receipts(order) == cancelled.ledger.refunds


@pytest.mark.rule("D-CANCELLATION", "L12")
def test_without_the_policy_a_cancellation_is_refused() -> None:
    """cancel_before_start = False: `cancellation_not_allowed`, nothing changes."""
    order = in_state(State.PAID)
    no = Policy(cancel_before_start=False)
    with pytest.raises(CancellationNotAllowed) as refusal:
        order.cancel(by=OWNER, at=later(order), policy=no)
    assert "cancellation_not_allowed" == refusal.value.code
    assert refused(order) == order


@pytest.mark.rule("D-CANCELLATION", "L10")
def test_no_cancellation_once_the_works_started() -> None:
    """In progress, cancelling is `invalid_transition`: failure and claims remain."""
    order = in_state(State.IN_PROGRESS)
    with pytest.raises(InvalidTransition):
        order.cancel(by=OWNER, at=later(order), policy=Policy())


@pytest.mark.rule("D-CANCELLATION", "I4")
def test_a_cancellation_must_refund_in_full() -> None:
    """Half a refund does not settle a cancellation: `invalid_refund`."""
    order = in_state(State.CANCELLING)
    with pytest.raises(InvalidRefund):
        settle(order, halved(order), restored=None)
    assert refused(order) == order


# --- D-PRICE-LOCK, E3 -------------------------------------------------------------------

SUBSCRIBER = Customer(
    "cust-1", sites=frozenset({"example.org"}), maintained_sites=frozenset({"example.org"})
)
LAPSED = Customer("cust-1", sites=frozenset({"example.org"}))
DEARER = Tariff(version="2026-04", hourly_rate=Money.of("1200.00"))


def estimated_for_subscriber(policy: Policy) -> WorkOrder:
    order = WorkOrder.request(
        order_id="wo-1", customer=SUBSCRIBER, target="example.org", problem="p", at=START
    )
    return order.estimate(
        by=STAFF, at=later(order), hours="2", tariff=Tariff(), customer=SUBSCRIBER, policy=policy
    )


@pytest.mark.rule("D-PRICE-LOCK", "E3")
@pytest.mark.parametrize(("tariff", "customer"), [(DEARER, SUBSCRIBER), (Tariff(), LAPSED)])
def test_by_default_the_quote_fixes_the_price_until_it_expires(
    tariff: Tariff, customer: Customer
) -> None:
    """A dearer tariff or a lapsed subscription after the estimate does not touch the quote."""
    order = estimated_for_subscriber(Policy())
    paid = pay(order, payment_of(order), tariff=tariff, customer=customer)
    assert State.PAID is paid.state
    assert Money.of("1600.00") == paid.ledger.paid


@pytest.mark.rule("D-PRICE-LOCK", "E3", "L12")
@pytest.mark.parametrize(("tariff", "customer"), [(DEARER, SUBSCRIBER), (Tariff(), LAPSED)])
def test_locked_at_payment_a_changed_price_is_refused(tariff: Tariff, customer: Customer) -> None:
    """at_payment: the price is computed again; if it moved, `quote_outdated`."""
    lock = Policy(price_lock=PriceLock.AT_PAYMENT)
    order = estimated_for_subscriber(lock)
    with pytest.raises(QuoteOutdated) as refusal:
        pay(order, payment_of(order), policy=lock, tariff=tariff, customer=customer)
    assert "quote_outdated" == refusal.value.code
    assert refused(order) == order


@pytest.mark.rule("D-PRICE-LOCK")
def test_locked_at_payment_an_unchanged_price_is_paid() -> None:
    """at_payment with the same tariff and subscription: the payment is accepted."""
    lock = Policy(price_lock=PriceLock.AT_PAYMENT)
    order = estimated_for_subscriber(lock)
    paid = pay(order, payment_of(order), policy=lock, customer=SUBSCRIBER)
    assert State.PAID is paid.state


@pytest.mark.rule("L13")
def test_instants_of_a_step_are_kept_as_given_when_fixed_or_utc() -> None:
    """A step's instant with a fixed offset is recorded as given."""
    at = pendulum.datetime(2026, 3, 2, 12, tz=pendulum.timezone(3 * 3600))
    order = requested(at=at)
    assert at.isoformat() == order.new_events[0].at.isoformat()
    assert at.astimezone(UTC) == order.new_events[0].at


@pytest.mark.rule("C1")
def test_people_see_a_completion_whose_notice_waits_as_notice_not_sent() -> None:
    """The order as lines for people: "not sent" until the notice went out, then its time
    and the deadline."""
    started = in_state(State.IN_PROGRESS)
    waiting = started.complete(by=STAFF, at=later(started))
    noticed = in_state(State.COMPLETED)
    assert any(
        line.split() == ["notice", "not", "sent"]
        for line in order_lines(waiting, waiting.new_events)
    )
    lines = order_lines(noticed, noticed.new_events)
    assert (False, True) == (
        any("not sent" in line for line in lines),
        any(line.strip().startswith("claims until") for line in lines),
    )
