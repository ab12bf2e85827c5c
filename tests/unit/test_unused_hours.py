"""Rule H2: under `SpentHours.REFUND_UNUSED` the first completion refunds the hours paid for
but not spent, through the billing outbox; a later full refund refunds only the rest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_use_cases import World, make_world

from komtet_works.adapters.memory import InMemoryBilling
from komtet_works.adapters.notices import NoticeRenderer
from komtet_works.domain.commands import RefundUnusedHours, refund_key, unused_hours_key
from komtet_works.domain.errors import BillingFailed, InvalidRefund
from komtet_works.domain.events import Actor, WorksCompleted
from komtet_works.domain.ledger import Ledger, Payment, Refund
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.domain.pricing import HoursRounding, Tariff, price
from komtet_works.domain.unused_hours import unused_hours_refund
from komtet_works.domain.works import ClaimOutcome, ClaimRemedy
from komtet_works.ports import MessageKind, WorksCompletedFacts
from komtet_works.reconciliation import reconcile
from komtet_works.relay import relay_billing
from komtet_works.testing.orders import in_state

REFUND_UNUSED: Final = Policy(spent_hours=SpentHours.REFUND_UNUSED)
STAFF: Final = Actor.staff("sam")
AT: Final = pendulum.datetime(2026, 3, 2, 11, tz="Europe/Moscow")

HOURS: Final = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)
TARIFFS: Final = st.builds(
    Tariff,
    hourly_rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2).map(
        Money.of
    ),
    billing_increment=st.none() | st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal(1)]),
    hours_rounding=st.sampled_from(HoursRounding),
    maintenance_discount=st.sampled_from([Decimal(0), Decimal("0.2"), Decimal("0.333")]),
)


def _world() -> World:
    """Order wo-1 of 2 h (2000.00: alice.ru has no discount), paid, its works started."""
    world = make_world(policy=REFUND_UNUSED)
    world.started()
    return world


# --- how much (H2.2-H2.4) ---------------------------------------------------------------------


@pytest.mark.rule("H2", "M4", "D-PRICE-LOCK")
@given(tariff=TARIFFS, estimate=HOURS, spent=HOURS, maintained=st.booleans())
def test_the_refund_and_the_price_of_the_hours_spent_add_up_to_the_paid_total(
    tariff: Tariff, estimate: Decimal, spent: Decimal, maintained: bool
) -> None:
    """Never negative; nothing when the billable hours spent reach the estimate; else the
    refund and the hours spent at the quote's terms are exactly the paid total."""
    quote = price(
        tariff, estimate, maintained_site=maintained, issued_at=AT, valid_for=timedelta(days=7)
    )
    refund = unused_hours_refund(quote, spent, paid=quote.total, tariff=Tariff())
    assert refund.amount >= 0
    assert refund.currency == quote.currency
    if tariff.billable_hours(spent) >= quote.billable_hours:
        assert Money.zero(quote.currency) == refund
    else:
        assert quote.total == refund + quote.price_of(spent, Tariff())
        assert (
            quote.price_of(spent, Tariff())
            == (
                price(
                    tariff, spent, maintained_site=maintained, issued_at=AT, valid_for=timedelta(1)
                )
            ).total
        )


@pytest.mark.rule("H2")
@given(tariff=TARIFFS, estimate=HOURS)
def test_nothing_is_refunded_when_no_hours_were_logged(tariff: Tariff, estimate: Decimal) -> None:
    quote = price(tariff, estimate, maintained_site=True, issued_at=AT, valid_for=timedelta(1))
    assert Money.zero(quote.currency) == unused_hours_refund(
        quote, Decimal(0), paid=quote.total, tariff=tariff
    )


@pytest.mark.rule("H2", "P2", "P3")
@pytest.mark.parametrize(
    ("increment", "estimate", "spent", "refund"),
    [
        (None, "2", "0.25", "800.00"),  # the 1-hour minimum: 1 h of 2 h paid
        (None, "3", "1.25", "1400.00"),  # the seed's example in H2.3
        ("0.5", "3.2", "1.2", "1600.00"),  # 3.5 h paid, 1.5 h billed spent: 2 h back
        (None, "2", "2", "0.00"),  # at the estimate
        (None, "2", "7", "0.00"),  # above it: never charged more
    ],
)
def test_the_hours_spent_are_billed_at_the_quote_s_own_terms(
    increment: str | None, estimate: str, spent: str, refund: str
) -> None:
    """The minimum term, the increment and the 20% discount the quote was priced with; a
    tariff changed since (a dearer rate, no minimum) does not count (D-PRICE-LOCK)."""
    tariff = Tariff(billing_increment=None if increment is None else Decimal(increment))
    quote = price(
        tariff, Decimal(estimate), maintained_site=True, issued_at=AT, valid_for=timedelta(1)
    )
    later = Tariff(hourly_rate=Money.of("5000.00"), minimum_hours=Decimal("0.25"))
    assert Money.of(refund) == unused_hours_refund(
        quote, Decimal(spent), paid=quote.total, tariff=later
    )


def test_a_quote_recorded_without_its_tariff_is_billed_by_the_host_s() -> None:
    """Quotes stored before they kept their tariff: the host's tariff bills the hours."""
    import attrs  # noqa: PLC0415 - this test only

    quote = attrs.evolve(
        price(Tariff(), Decimal(3), maintained_site=False, issued_at=AT, valid_for=timedelta(1)),
        tariff=None,
    )
    whole_hours = Tariff(billing_increment=Decimal(1))
    assert Money.of("1000.00") == unused_hours_refund(
        quote, Decimal("1.5"), paid=quote.total, tariff=whole_hours
    )


# --- the order (H2.1, H2.5) -----------------------------------------------------------------


@pytest.mark.rule("H2")
@given(logged=st.lists(HOURS, max_size=4))
def test_the_first_completion_records_the_refund_on_the_ledger(logged: list[Decimal]) -> None:
    """The refunds are the completion's, on the order's ledger, within what was paid."""
    order = in_state(State.IN_PROGRESS)
    at = order.last_step_at
    for hours in logged:
        order = order.log_hours(by=STAFF, at=at, hours=hours, policy=REFUND_UNUSED)
    quote = order.ledger.current_quote
    assert quote is not None
    done = order.complete(by=STAFF, at=at, policy=REFUND_UNUSED, tariff=Tariff())
    event = done.new_events[-1]
    assert isinstance(event, WorksCompleted)
    expected = unused_hours_refund(
        quote, order.works.spent_hours, paid=order.ledger.paid, tariff=Tariff()
    )
    assert expected == done.ledger.refunded
    assert event.unused_refunds == done.ledger.refunds
    assert done.ledger.refunded <= done.ledger.paid
    assert done == type(done).replay(done.new_events)


@pytest.mark.rule("H2", "D-OVERRUN")
def test_under_the_fixed_price_the_completion_refunds_nothing() -> None:
    order = in_state(State.IN_PROGRESS)
    at = order.last_step_at
    order = order.log_hours(by=STAFF, at=at, hours="0.5", policy=REFUND_UNUSED)
    for policy in (None, Policy()):
        done = order.complete(by=STAFF, at=at, policy=policy, tariff=Tariff())
        assert () == done.ledger.refunds


@pytest.mark.rule("H2", "K1", "K3")
def test_the_refund_goes_to_billing_after_the_commit_under_its_own_key() -> None:
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours="0.5")
    done = world.service.complete("wo-1", staff_id="sam")
    # 2 h paid, 1 h billed (the minimum): 1000.00 back
    assert Money.of("1000.00") == done.ledger.refunded
    assert [("pay-wo-1", Money.of("1000.00"))] == [
        (r.payment_id, r.amount) for r in world.billing.refunds()
    ]
    assert unused_hours_key("pay-wo-1") in world.billing.refunded
    assert unused_hours_key("pay-wo-1") != refund_key("pay-wo-1")
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("H2", "K3", "K5")
def test_billing_down_at_completion_the_relay_refunds_later_and_reconciliation_waits() -> None:
    """The completion commits with its refund command; billing down leaves it pending, the
    order's ledger already counting it, and reconciliation sees it on its way."""
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours="1.5")
    world.billing.failing = True
    done = world.service.complete("wo-1", staff_id="sam")
    assert State.COMPLETED is done.state
    pending = world.orders.pending_commands(order_id="wo-1")
    assert [RefundUnusedHours("wo-1", "pay-wo-1", Money.of("500.00"))] == list(pending)
    assert [] == reconcile(world.orders, world.billing)
    world.billing.failing = False
    assert 1 == relay_billing(world.orders, world.billing)
    assert 0 == relay_billing(world.orders, world.billing)
    assert [Money.of("500.00")] == [r.amount for r in world.billing.refunds()]
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("H2")
def test_a_rework_s_completion_refunds_nothing_more() -> None:
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours="1")
    world.service.complete("wo-1", staff_id="sam")
    world.clock.advance(timedelta(hours=1))
    world.service.file_claim(
        "wo-1", customer_id="alice", text="broken again", remedy=ClaimRemedy.REWORK
    )
    world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REWORK)
    reworked = world.service.complete("wo-1", staff_id="sam")
    assert Money.of("1000.00") == reworked.ledger.refunded
    assert 1 == len(world.billing.refunds())
    completions = [e for e in world.orders.history("wo-1") if isinstance(e, WorksCompleted)]
    assert [1, 0] == [len(e.unused_refunds) for e in completions]


# --- the rest, later (H2.6, I4) ---------------------------------------------------------------


@pytest.mark.rule("H2", "I4", "C3")
@given(spent=HOURS, fail=st.booleans())
def test_a_later_full_refund_brings_the_refunded_to_exactly_the_paid_sum(
    spent: Decimal, fail: bool
) -> None:
    """An accepted claim, or a failure after a rework, refunds only what is left."""
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours=spent)
    world.service.complete("wo-1", staff_id="sam")
    world.clock.advance(timedelta(hours=1))
    if fail:
        world.service.file_claim(
            "wo-1", customer_id="alice", text="broken", remedy=ClaimRemedy.REWORK
        )
        world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REWORK)
        ended = world.service.report_failure("wo-1", staff_id="sam")
    else:
        world.service.file_claim("wo-1", customer_id="alice", text="broken")
        ended = world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)
    assert State.REFUNDED is ended.state
    assert ended.ledger.paid == ended.ledger.refunded
    billed = sum((r.amount for r in world.billing.refunds()), Money.zero())
    assert ended.ledger.paid == billed
    assert [] == reconcile(world.orders, world.billing)


@pytest.mark.rule("I4")
def test_the_ledger_refunds_a_payment_in_parts_never_beyond_it() -> None:
    payment = Payment("p-1", Money.of("1000.00"), AT)
    ledger = Ledger(payments=(payment,), refunds=(Refund("p-1", Money.of("300.00"), ""),))
    assert (Refund("p-1", Money.of("700.00"), ""),) == ledger.refunds_due()
    ledger.check_refunds((Refund("p-1", Money.of("700.00"), "rf"),))
    with pytest.raises(InvalidRefund):
        ledger.check_refunds((Refund("p-1", Money.of("700.01"), "rf"),))
    with pytest.raises(InvalidRefund):
        ledger.check_refunds(
            (Refund("p-1", Money.of("400.00"), "a"), Refund("p-1", Money.of("400.00"), "b"))
        )
    with pytest.raises(InvalidRefund):
        ledger.refunds_of(Money.of("700.01"))


@pytest.mark.rule("I4")
def test_the_in_memory_ledger_refuses_refunds_beyond_a_payment() -> None:
    billing = InMemoryBilling()
    billing.receive(payment_id="p-1", order_id="o-1", amount=Money.of("1000.00"))
    billing.refund(payment_id="p-1", amount=Money.of("300.00"), idempotency_key="part")
    billing.refund(payment_id="p-1", amount=Money.of("700.00"), idempotency_key="rest")
    assert "rf-1" == billing.refund(
        payment_id="p-1", amount=Money.of("300.00"), idempotency_key="part"
    )
    with pytest.raises(BillingFailed):
        billing.refund(payment_id="p-1", amount=Money.of("0.01"), idempotency_key="more")


@pytest.mark.rule("K5")
def test_reconciliation_still_finds_a_partial_refund_made_twice() -> None:
    """The unused hours refunded again under another key: the order's refunded differs."""
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours="1")
    world.service.complete("wo-1", staff_id="sam")
    world.billing.refund(payment_id="pay-wo-1", amount=Money.of("500.00"), idempotency_key="x")
    codes = {d.code for d in reconcile(world.orders, world.billing)}
    assert {"refunded_differs", "refunded_twice"} == codes


# --- the customer is told (H2.7) ----------------------------------------------------------------


@pytest.mark.rule("H2")
@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize(("spent", "refund"), [("0.5", "1000.00"), ("4", "0.00")])
def test_the_completion_notice_tells_the_hours_spent_and_the_refund(
    language: str, spent: str, refund: str
) -> None:
    world = _world()
    world.service.log_hours("wo-1", staff_id="sam", hours=spent)
    world.service.complete("wo-1", staff_id="sam")
    ((_, sent),) = world.messages(MessageKind.WORKS_COMPLETED)
    facts = sent.facts
    assert isinstance(facts, WorksCompletedFacts)
    assert (Decimal(spent), Money.of(refund)) == (facts.hours_spent, facts.unused_refund)
    renderer = NoticeRenderer(language=language)
    notice = renderer.render(sent)
    for text in (notice.text, notice.html):
        assert renderer.hours(Decimal(spent)) in text
        assert (refund != "0.00") is (renderer.money(Money.of(refund)) in text)


def test_under_the_fixed_price_the_notice_says_nothing_of_refunds() -> None:
    world = make_world()
    world.started()
    world.service.log_hours("wo-1", staff_id="sam", hours="0.5")
    world.service.complete("wo-1", staff_id="sam")
    ((_, sent),) = world.messages(MessageKind.WORKS_COMPLETED)
    assert isinstance(sent.facts, WorksCompletedFacts)
    assert (None, None) == (sent.facts.hours_spent, sent.facts.unused_refund)
