"""Money across the billing edge: the payments intake, invoices through the billing outbox,
voided invoices, keys that cannot collide, staff withdrawal and reconciliation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_use_cases import World, make_world

from komtet_works import (
    AmountMismatch,
    InvalidInput,
    InvalidTransition,
    Money,
    NoCurrentQuote,
    PaymentConflict,
    Policy,
    QuoteExpired,
    State,
    UnknownOrder,
)
from komtet_works.domain.commands import RefundPayment, invoice_key, refund_key
from komtet_works.domain.errors import PaymentBelongsToAnotherOrder
from komtet_works.domain.keys import operation_key
from komtet_works.domain.works import WithdrawalReason
from komtet_works.ports import MessageKind, WithdrawnFacts
from komtet_works.reconciliation import reconcile
from komtet_works.relay import relay_billing


def pay(world: World, order_id: str, payment_id: str, amount: str) -> None:
    """The customer pays in billing, and billing reports it to the service."""
    world.billing.receive(payment_id=payment_id, order_id=order_id, amount=Money.of(amount))
    world.service.record_payment(order_id, payment_id=payment_id, amount=amount)


def reports(world: World) -> dict[str, tuple[str, bool, str | None]]:
    return {p.id: (p.order_id, p.applied, p.refund_reference) for p in world.orders.payments()}


# --- K1: keys -------------------------------------------------------------------------------

PARTS = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from(':"\\[],{} xé\u0000\udcff'), max_size=6), st.integers()
    ),
    max_size=4,
)


@pytest.mark.rule("K1")
@given(first=PARTS, second=PARTS)
def test_two_distinct_operations_never_share_a_key(
    first: list[str | int], second: list[str | int]
) -> None:
    """Ids full of separators, quotes, brackets and unicode: distinct parts, distinct keys."""
    assert (first == second) == (operation_key(*first) == operation_key(*second))
    assert operation_key(*first).isascii()


@pytest.mark.rule("K1")
@given(parts=PARTS)
def test_a_key_reads_back_into_its_parts(parts: list[str | int]) -> None:
    """A key is its parts written as a JSON array: it decodes to exactly those parts."""
    assert parts == json.loads(operation_key(*parts))


@pytest.mark.rule("K1")
def test_orders_whose_ids_hold_the_old_separator_get_distinct_refund_keys() -> None:
    """Order x paid by y:refund:z and order x:refund:y paid by z: two refunds, two keys."""
    world = make_world()
    for order_id, payment_id in (("x", "y:refund:z"), ("x:refund:y", "z")):
        quote = world.estimated(order_id).ledger.current_quote
        assert quote is not None
        pay(world, order_id, payment_id, str(quote.total.amount))
        world.service.cancel(order_id, customer_id="alice")

    assert (State.CANCELLED, State.CANCELLED) == (
        world.orders.get("x").state,
        world.orders.get("x:refund:y").state,
    )
    assert {refund_key("y:refund:z"), refund_key("z")} == set(world.billing.refunded)
    assert [] == reconcile(world.orders, world.billing)


# --- K2: the payments intake ----------------------------------------------------------------


@pytest.mark.rule("K2")
def test_one_payment_id_pays_only_the_first_order_and_is_refunded_once() -> None:
    """The same id for a second order is refused and kept as a conflict; one refund only."""
    world = make_world()
    world.estimated("o-1")
    world.estimated("o-2")
    pay(world, "o-1", "p-1", "2000.00")
    second = world.orders.get("o-2")

    with pytest.raises(PaymentBelongsToAnotherOrder) as refusal:
        world.service.record_payment("o-2", payment_id="p-1", amount="2000.00")

    assert "payment_belongs_to_another_order" == refusal.value.code
    assert second == world.orders.get("o-2")
    assert [("p-1", "o-2", "payment_belongs_to_another_order")] == [
        (c.payment.id, c.order_id, c.code) for c in world.orders.conflicts()
    ]
    world.service.cancel("o-1", customer_id="alice")
    with pytest.raises(InvalidTransition):
        world.service.cancel("o-2", customer_id="alice")
    assert [Money.of("2000.00")] == [r.amount for r in world.billing.refunds()]
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("K2", "I3")
def test_the_same_report_again_changes_nothing() -> None:
    """A retried callback (id, order, amount) is one entry and one state change."""
    world = make_world()
    world.estimated("o-1")
    pay(world, "o-1", "p-1", "2000.00")
    paid = world.orders.get("o-1")

    assert paid == world.service.record_payment("o-1", payment_id="p-1", amount="2000.00")
    assert {"p-1": ("o-1", True, None)} == reports(world)
    assert [] == world.orders.conflicts()


@pytest.mark.rule("K2", "I3")
def test_the_same_id_with_another_amount_is_a_conflict_that_changes_nothing() -> None:
    """Another amount under a known id: `payment_conflict`, kept for staff."""
    world = make_world()
    world.estimated("o-1")
    pay(world, "o-1", "p-1", "2000.00")

    with pytest.raises(PaymentConflict):
        world.service.record_payment("o-1", payment_id="p-1", amount="1999.00")
    assert Money.of("2000.00") == world.orders.get("o-1").ledger.paid
    assert ["payment_conflict"] == [c.code for c in world.orders.conflicts()]


@pytest.mark.rule("K2", "D-UNAPPLIED")
@pytest.mark.parametrize(
    ("setup", "amount", "currency", "refusal"),
    [
        ("estimated", "1999.99", None, AmountMismatch),
        ("estimated", "2000.00", "USD", AmountMismatch),
        ("requested", "2000.00", None, NoCurrentQuote),
        ("paid", "2000.00", None, InvalidTransition),
        ("expired", "2000.00", None, QuoteExpired),
    ],
    ids=["amount", "currency", "no-quote", "takes-no-payment", "expired"],
)
def test_a_payment_the_rules_refuse_is_kept_unapplied_and_refunded_in_full(
    setup: str, amount: str, currency: str | None, refusal: type[Exception]
) -> None:
    """Money the rules refuse is never dropped: unapplied, refunded at once, order unchanged."""
    world = make_world()
    if setup == "requested":
        world.requested("o-1")
    else:
        world.estimated("o-1")
    if setup == "paid":
        pay(world, "o-1", "p-0", "2000.00")
    if setup == "expired":
        world.clock.advance(timedelta(days=8))
    before = world.orders.get("o-1")
    money = Money.of(amount, currency or "RUB")
    world.billing.receive(payment_id="p-1", order_id="o-1", amount=money)

    with pytest.raises(refusal):
        world.service.record_payment("o-1", payment_id="p-1", amount=amount, currency=currency)

    assert before == world.orders.get("o-1")
    [report] = [p for p in world.orders.payments() if p.id == "p-1"]
    assert (False, refusal.code) == (report.applied, report.refused)  # type: ignore[attr-defined]
    assert money == world.billing.refunded[refund_key("p-1")].amount
    assert report.refund_reference == world.billing.refunded[refund_key("p-1")].reference
    assert [] == reconcile(world.orders, world.billing)
    with pytest.raises(refusal):  # the same report again: the same refusal, nothing more
        world.service.record_payment("o-1", payment_id="p-1", amount=amount, currency=currency)
    assert 1 == len([r for r in world.billing.refunds() if r.payment_id == "p-1"])


@pytest.mark.rule("K2")
def test_a_payment_for_an_unknown_order_is_kept_and_refunded() -> None:
    """An order id nobody knows: `unknown_order`, and the money goes back."""
    world = make_world()
    world.billing.receive(payment_id="p-1", order_id="nope", amount=Money.of("10.00"))

    with pytest.raises(UnknownOrder):
        world.service.record_payment("nope", payment_id="p-1", amount="10.00")

    assert {"p-1": ("nope", False, "rf-1")} == reports(world)
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("D-UNAPPLIED")
def test_a_policy_may_hold_unapplied_payments_for_staff() -> None:
    """With `refund_unapplied` off the payment is kept unapplied and nothing is refunded."""
    world = make_world(policy=Policy(refund_unapplied=False))
    world.estimated("o-1")

    with pytest.raises(AmountMismatch):
        world.service.record_payment("o-1", payment_id="p-1", amount="1.00")

    assert ({"p-1": ("o-1", False, None)}, {}) == (reports(world), world.billing.refunded)


@pytest.mark.rule("K2", "L12")
@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        ("1.001", InvalidInput),
        ("NaN", InvalidInput),
        ("lots", InvalidInput),
        ("-1", AmountMismatch),
    ],
)
def test_a_report_that_is_no_money_received_is_refused_and_keeps_nothing(
    amount: str, refusal: type[Exception]
) -> None:
    """Not money, or none received: refused, nothing recorded, nothing refunded."""
    world = make_world()
    world.estimated("o-1")

    with pytest.raises(refusal):
        world.service.record_payment("o-1", payment_id="p-1", amount=amount)
    assert ([], {}) == (list(world.orders.payments()), world.billing.refunded)


# --- K3, K4: invoices through the billing outbox, voided when the quote goes ----------------


@pytest.mark.rule("K3", "P5")
def test_a_refused_estimate_asks_billing_for_nothing_and_the_next_one_is_paid() -> None:
    """A bad staff id sends no invoice; the next estimate at another price is invoiced and paid."""
    world = make_world()
    world.requested("o-1")

    with pytest.raises(InvalidInput):
        world.service.estimate("o-1", staff_id="sam", hours="-1")
    assert {} == world.billing.invoices
    world.service.estimate("o-1", staff_id="sam", hours="3")
    pay(world, "o-1", "p-1", "3000.00")

    assert [invoice_key("o-1", 1)] == list(world.billing.invoices)
    assert State.PAID is world.orders.get("o-1").state


@pytest.mark.rule("K4")
@pytest.mark.parametrize("how", ["re-estimate", "supplement", "decline", "withdraw"])
def test_a_quote_that_can_no_longer_be_paid_has_its_invoice_voided(how: str) -> None:
    """Superseded, withdrawn by a supplement, declined or the order withdrawn: voided once."""
    world = make_world()
    world.estimated("o-1")
    if how == "re-estimate":
        world.service.estimate("o-1", staff_id="sam", hours="1")
    elif how == "supplement":
        world.service.supplement("o-1", customer_id="alice", text="only the front page")
    elif how == "decline":
        world.service.decline("o-1", customer_id="alice")
    else:
        world.service.withdraw("o-1", staff_id="sam", reason="out_of_scope")

    first = world.billing.invoices[invoice_key("o-1", 1)].reference
    assert [first] == list(world.billing.voided.values())


@pytest.mark.rule("K4")
def test_the_invoice_of_an_expired_quote_is_voided_by_the_job_and_late_money_refunded() -> None:
    """Past payable_until the job voids the invoice once; money arriving after is refunded."""
    world = make_world()
    world.estimated("o-1")
    world.clock.advance(timedelta(days=8))

    assert (1, 0) == (world.service.void_lapsed_invoices(), world.service.void_lapsed_invoices())
    assert 1 == len(world.billing.voided)
    world.billing.receive(payment_id="late", order_id="o-1", amount=Money.of("2000.00"))
    with pytest.raises(QuoteExpired):
        world.service.record_payment("o-1", payment_id="late", amount="2000.00")
    assert refund_key("late") in world.billing.refunded
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("K3", "K4")
def test_a_void_waits_for_the_invoice_it_voids() -> None:
    """Billing down for the first invoice: the re-estimate's void waits; the relay does both."""
    world = make_world()
    world.requested("o-1")
    world.billing.failing = True
    world.service.estimate("o-1", staff_id="sam", hours="2")
    world.billing.failing = False
    world.service.estimate("o-1", staff_id="sam", hours="1")

    assert 0 == relay_billing(world.orders, world.billing)
    first = world.billing.invoices[invoice_key("o-1", 1)].reference
    assert [first] == list(world.billing.voided.values())
    assert 2 == len(world.billing.invoices)


# --- W1: withdrawal ---------------------------------------------------------------------------


@pytest.mark.rule("W1", "E2")
@pytest.mark.parametrize("reason", list(WithdrawalReason))
def test_staff_withdraw_a_paid_order_and_every_payment_is_refunded(
    reason: WithdrawalReason,
) -> None:
    """Before the works, for any reason: refunded in full, `withdrawn`, the customer told."""
    world = make_world()
    world.scheduled("o-1")

    order = world.service.withdraw("o-1", staff_id="sam", reason=reason.value, note="why")

    assert (State.WITHDRAWN, Money.of("2000.00")) == (order.state, order.ledger.refunded)
    assert order.works.restored is None
    [(_, told)] = world.messages(MessageKind.WITHDRAWN)
    assert WithdrawnFacts(reason, handed_to_support=reason is WithdrawalReason.HOSTING_FAULT) == (
        told.facts
    )
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("W1")
def test_a_withdrawal_left_pending_by_a_billing_outage_settles_when_called_again() -> None:
    """Billing down: the order waits `withdrawing`; called again it is refunded once."""
    world = make_world()
    world.paid("o-1")
    world.billing.failing = True
    with pytest.raises(Exception, match="unavailable"):
        world.service.withdraw("o-1", staff_id="sam", reason="backup_impossible")
    assert State.WITHDRAWING is world.orders.get("o-1").state
    world.billing.failing = False

    order = world.service.withdraw("o-1", staff_id="sam", reason="backup_impossible")
    assert (State.WITHDRAWN, 1) == (order.state, len(world.billing.refunded))


@pytest.mark.rule("W1")
def test_no_withdrawal_once_the_works_started_nor_for_an_unknown_reason() -> None:
    """Started works end by failure or completion; a reason outside the list is bad input."""
    world = make_world()
    world.started("o-1")
    with pytest.raises(InvalidTransition):
        world.service.withdraw("o-1", staff_id="sam", reason="other")
    with pytest.raises(InvalidInput):
        world.service.withdraw("o-1", staff_id="sam", reason="bored")


# --- K5: reconciliation -----------------------------------------------------------------------


@pytest.mark.rule("K5")
def test_reconciliation_finds_money_billing_holds_that_the_store_never_recorded() -> None:
    """A payment made in billing but never reported, and a refund twice: both named."""
    world = make_world()
    world.estimated("o-1")
    world.billing.receive(payment_id="lost", order_id="o-1", amount=Money.of("2000.00"))
    world.billing.refund(payment_id="lost", amount=Money.of("1.00"), idempotency_key="a")
    world.billing.refund(payment_id="lost", amount=Money.of("1.00"), idempotency_key="b")

    codes = {d.code for d in reconcile(world.orders, world.billing)}
    assert {"payment_not_recorded", "refunded_twice"} == codes


@pytest.mark.rule("K5")
def test_reconciliation_finds_a_refund_the_order_does_not_record() -> None:
    """Billing refunded an applied payment the order still counts as paid: `refunded_differs`."""
    world = make_world()
    world.estimated("o-1")
    pay(world, "o-1", "p-1", "2000.00")
    world.billing.refund(payment_id="p-1", amount=Money.of("2000.00"), idempotency_key="x")

    assert ["refunded_differs"] == [d.code for d in reconcile(world.orders, world.billing)]


def test_refund_payment_commands_are_keyed_by_the_payment_alone() -> None:
    """An unapplied refund and an order's refund of one payment share one key: at most one."""
    assert refund_key("p") == RefundPayment("o", "p", Money.of("1.00")).id
