"""Rules H3-H5, D-OVERRUN: under the supplementary-estimate policy the works never run on
hours the customer has not agreed to pay; a supplementary estimate, paid, lets them go on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import bootstrap
from komtet_works.adapters.memory import InMemoryBilling, InMemoryNotifier, ManualClock
from komtet_works.domain import recorded
from komtet_works.domain.commands import RequestInvoice, VoidInvoice, lapsed, owed
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import (
    AmountMismatch,
    InvalidHours,
    InvalidTransition,
    QuoteExpired,
    QuoteOutdated,
    SupplementaryEstimateNeeded,
)
from komtet_works.domain.events import Actor
from komtet_works.domain.ledger import Payment
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.policy import Policy, PriceLock, SpentHours
from komtet_works.domain.pricing import Tariff
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome
from komtet_works.entrypoints.presenters import order_json, order_lines
from komtet_works.ports import QuoteIssuedFacts, SupplementaryQuoteFacts
from komtet_works.testing.orders import customer_for, in_state
from komtet_works.use_cases import BILLING, WorkOrderService

STAFF: Final = Actor.staff("sam")
SUPPLEMENTARY: Final = Policy(spent_hours=SpentHours.SUPPLEMENTARY_ESTIMATE)
FIXED: Final = Policy()
TARIFF: Final = Tariff()
HOURS: Final = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(6), places=2)


def _at(order: WorkOrder, minutes: int = 1) -> pendulum.DateTime:
    return order.last_step_at.add(minutes=minutes)


def _running() -> WorkOrder:
    """Works in progress on a quote of 2.5 billable hours (`in_state`'s route), 2500.00."""
    order = in_state(State.IN_PROGRESS)
    assert order.ledger.paid_hours == Decimal("2.5")
    return order


def _log(order: WorkOrder, hours: object, policy: Policy = SUPPLEMENTARY) -> WorkOrder:
    return order.log_hours(by=STAFF, at=_at(order), hours=hours, policy=policy)  # type: ignore[arg-type]


def _estimate(
    order: WorkOrder, hours: str, *, tariff: Tariff = TARIFF, customer: Customer | None = None
) -> WorkOrder:
    return order.estimate(
        by=STAFF,
        at=_at(order),
        hours=hours,
        tariff=tariff,
        customer=customer or customer_for(order.customer_id),
        policy=SUPPLEMENTARY,
    )


def _pay(order: WorkOrder, amount: Money, *, minutes: int = 1, **kwargs: object) -> WorkOrder:
    at = _at(order, minutes)
    return order.pay(
        by=BILLING,
        at=at,
        payment=Payment(f"pay-{order.version}", amount, at),
        policy=kwargs.get("policy", SUPPLEMENTARY),  # type: ignore[arg-type]
        tariff=kwargs.get("tariff", TARIFF),  # type: ignore[arg-type]
        customer=customer_for(order.customer_id),
    )


def _overrun() -> WorkOrder:
    """3 h spent of the 2.5 h paid for."""
    return _log(_log(_running(), "2"), "1")


# --- H3 ---------------------------------------------------------------------------------


@pytest.mark.rule("H3")
def test_the_entry_that_passes_the_hours_paid_for_is_kept_and_no_entry_follows() -> None:
    order = _log(_running(), "2.5")  # exactly at the hours paid for: not overrun
    assert order.overrun_hours == 0
    order = _log(order, "0.75")
    assert (order.works.spent_hours, order.overrun_hours) == (Decimal("3.25"), Decimal("0.75"))
    with pytest.raises(SupplementaryEstimateNeeded, match=r"3\.25 h were spent of the 2\.5 h"):
        _log(order, "0.25")
    assert State.IN_PROGRESS is order.state


@pytest.mark.rule("H3")
@given(logged=st.lists(HOURS, min_size=1, max_size=8))
def test_the_works_stop_exactly_once_the_hours_spent_pass_those_paid_for(
    logged: list[Decimal],
) -> None:
    """Each entry is accepted while the hours spent before it are within the hours paid
    for, and refused, changing nothing, once they are past them."""
    order = _running()
    for hours in logged:
        before = order
        if before.works.spent_hours > before.ledger.paid_hours:
            with pytest.raises(SupplementaryEstimateNeeded):
                _log(before, hours)
        else:
            order = _log(before, hours)
            assert order.works.spent_hours == before.works.spent_hours + hours
        assert State.IN_PROGRESS is order.state
    accepted = [entry.hours for entry in recorded.time_entries(order.new_events)]
    assert accepted == logged[: len(accepted)]
    assert sum(accepted[:-1], Decimal(0)) <= order.ledger.paid_hours
    assert order == WorkOrder.replay(order.new_events)


@pytest.mark.rule("H3", "D-OVERRUN")
@given(logged=st.lists(HOURS, min_size=1, max_size=8))
def test_under_the_fixed_price_an_overrun_refuses_nothing(logged: list[Decimal]) -> None:
    order = _running()
    for hours in logged:
        order = _log(order, hours, FIXED)
    assert order.works.spent_hours == sum(logged, Decimal(0))


@pytest.mark.rule("H3")
def test_an_overrun_order_may_still_complete_or_fail() -> None:
    order = _overrun()
    assert State.COMPLETED is order.complete(by=STAFF, at=_at(order)).state
    assert State.REFUNDING is order.fail(by=STAFF, at=_at(order)).state


# --- H4 ---------------------------------------------------------------------------------


@pytest.mark.rule("H4", "P4")
def test_a_supplementary_estimate_prices_the_extra_hours_with_no_minimum_term() -> None:
    site = Customer(
        "cust-1", sites=frozenset({"example.org"}), maintained_sites=frozenset({"example.org"})
    )
    order = _overrun()
    quoted = _estimate(order, "0.5", customer=site)
    quote = quoted.ledger.supplementary_quote
    assert quote is not None
    assert quote is quoted.ledger.quotes[-1]
    assert (quote.hours, quote.billable_hours) == (Decimal("0.5"), Decimal("0.5"))
    assert (quote.gross, quote.discount, quote.total) == (
        Money.of("500.00"),
        Money.of("100.00"),
        Money.of("400.00"),
    )
    assert quote.payable_until == quote.issued_at + SUPPLEMENTARY.quote_valid_for
    assert quoted.ledger.current_quote == order.ledger.current_quote  # what the works were paid by
    assert State.IN_PROGRESS is quoted.state
    assert quoted == WorkOrder.replay(quoted.new_events)


@pytest.mark.rule("H4")
@given(hours=HOURS, increment=st.sampled_from([None, Decimal("0.25"), Decimal(1)]))
def test_a_supplement_is_billed_as_estimated_and_never_below_one_increment(
    hours: Decimal, increment: Decimal | None
) -> None:
    tariff = attrs.evolve(TARIFF, billing_increment=increment)
    billable = tariff.billable_hours(hours, supplementary=True)
    if increment is None:
        assert billable == hours
    else:
        assert billable % increment == 0
        assert max(hours, increment) <= billable < max(hours, increment) + increment
    assert tariff.billable_hours(hours) >= TARIFF.minimum_hours


@pytest.mark.rule("H4")
def test_a_supplementary_estimate_covers_at_least_the_overrun() -> None:
    order = _overrun()
    with pytest.raises(InvalidHours, match=r"at least the 0\.5 h"):
        _estimate(order, "0.25")
    assert _estimate(order, "0.5").ledger.supplementary_quote is not None


@pytest.mark.rule("H4")
def test_staff_may_estimate_the_extra_hours_before_the_overrun() -> None:
    order = _log(_running(), "2")
    quoted = _estimate(order, "1")
    assert quoted.ledger.supplementary_quote is not None
    assert _log(quoted, "0.25").works.spent_hours == Decimal("2.25")  # within the paid hours


@pytest.mark.rule("H4", "K3", "K4", "P7")
def test_a_supplementary_quote_is_invoiced_and_a_new_one_voids_it() -> None:
    order = _overrun()
    first = _estimate(order, "1")
    assert (RequestInvoice(order.id, 2, Money.of("1000.00")),) == owed(order, first)
    second = _estimate(first, "2")
    assert (
        VoidInvoice(order.id, 2),
        RequestInvoice(order.id, 3, Money.of("2000.00")),
    ) == owed(first, second)
    running = _running()
    assert () == owed(running, _log(running, "1"))


@pytest.mark.rule("H4", "N1")
def test_the_customer_is_told_the_quote_is_supplementary_and_why() -> None:
    world = _World.make()
    world.walk_to_overrun()
    order = world.service.estimate("wo-1", staff_id="sam", hours="1")
    facts = world.notifier.sent[-1][1].facts
    assert (
        QuoteIssuedFacts(
            order.ledger.quotes[-1], supplementary=SupplementaryQuoteFacts(Decimal(3), Decimal(2))
        )
        == facts
    )


# --- H5 ---------------------------------------------------------------------------------


@pytest.mark.rule("H5", "I1", "H3")
def test_a_paid_supplementary_quote_covers_its_hours_and_the_works_go_on() -> None:
    quoted = _estimate(_overrun(), "1")
    paid = _pay(quoted, Money.of("1000.00"))
    assert State.IN_PROGRESS is paid.state
    assert paid.ledger.supplementary_quote is None
    assert paid.ledger.paid_hours == Decimal("3.5")
    assert paid.ledger.paid == Money.of("3500.00")
    assert () == owed(quoted, paid)  # paid, not voided
    assert _log(paid, "0.5").works.spent_hours == Decimal("3.5")
    assert paid == WorkOrder.replay(paid.new_events)


@pytest.mark.rule("H5", "I2", "D-PRICE-LOCK")
def test_a_supplementary_quote_is_paid_exactly_in_time_at_its_price() -> None:
    quoted = _estimate(_overrun(), "1")
    with pytest.raises(AmountMismatch):
        _pay(quoted, Money.of("999.99"))
    week = int(SUPPLEMENTARY.quote_valid_for / timedelta(minutes=1))
    with pytest.raises(QuoteExpired):
        _pay(quoted, Money.of("1000.00"), minutes=week + 1)
    dearer = attrs.evolve(TARIFF, hourly_rate=Money.of("1200.00"))
    locked = attrs.evolve(SUPPLEMENTARY, price_lock=PriceLock.AT_PAYMENT)
    with pytest.raises(QuoteOutdated):
        _pay(quoted, Money.of("1000.00"), policy=locked, tariff=dearer)
    assert _pay(quoted, Money.of("1000.00"), policy=locked).ledger.paid_hours == Decimal("3.5")


@pytest.mark.rule("H5", "K4")
def test_a_declined_supplementary_quote_is_voided_and_the_works_stay_stopped() -> None:
    quoted = _estimate(_overrun(), "1")
    declined = quoted.decline(by=Actor.customer(quoted.customer_id), at=_at(quoted))
    assert State.IN_PROGRESS is declined.state
    assert declined.ledger.supplementary_quote is None
    assert (VoidInvoice(quoted.id, 2),) == owed(quoted, declined)
    with pytest.raises(SupplementaryEstimateNeeded):
        _log(declined, "0.25")
    with pytest.raises(InvalidTransition):
        _pay(declined, Money.of("1000.00"))
    assert State.COMPLETED is declined.complete(by=STAFF, at=_at(declined)).state


@pytest.mark.rule("H5", "K4", "L8")
def test_the_end_of_the_works_voids_an_open_supplementary_quote() -> None:
    quoted = _estimate(_overrun(), "1")
    completed = quoted.complete(by=STAFF, at=_at(quoted))
    failed = quoted.fail(by=STAFF, at=_at(quoted))
    for ended in (completed, failed):
        assert ended.ledger.supplementary_quote is None
        assert (VoidInvoice(quoted.id, 2),) == owed(quoted, ended)


@pytest.mark.rule("H5", "K4", "D-QUOTE-VALIDITY")
def test_a_lapsed_supplementary_quote_owes_its_void() -> None:
    quoted = _estimate(_overrun(), "1")
    quote = quoted.ledger.supplementary_quote
    assert quote is not None
    assert lapsed(quoted, quote.payable_until) is None
    assert VoidInvoice(quoted.id, 2) == lapsed(quoted, quote.payable_until.add(seconds=1))
    assert lapsed(_overrun(), quote.payable_until.add(days=30)) is None


@pytest.mark.rule("H5", "I4")
def test_a_refund_of_the_works_refunds_the_supplementary_payment_too() -> None:
    paid = _pay(_estimate(_overrun(), "1"), Money.of("1000.00"))
    failed = paid.fail(by=STAFF, at=_at(paid))
    assert [(r.payment_id, r.amount) for r in failed.ledger.refunds_due()] == [
        (p.id, p.amount) for p in paid.ledger.payments
    ]
    assert sum((r.amount for r in failed.ledger.refunds_due()), Money.of("0.00")) == Money.of(
        "3500.00"
    )


# --- through the use cases ------------------------------------------------------------------


@attrs.define
class _World:
    clock: ManualClock
    billing: InMemoryBilling
    notifier: InMemoryNotifier
    service: WorkOrderService

    @classmethod
    def make(cls) -> _World:
        clock = ManualClock(pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow"))
        billing = InMemoryBilling()
        notifier = InMemoryNotifier(clock)
        wiring = bootstrap.in_memory(
            customers=[customer_for("cust-1")],
            billing=billing,
            notifier=notifier,
            clock=clock,
            policy=SUPPLEMENTARY,
        )
        return cls(clock, billing, notifier, wiring.service)

    def later(self, hours: int = 1) -> None:
        self.clock.set(self.clock.now() + timedelta(hours=hours))

    def pay(self, payment_id: str, amount: str) -> WorkOrder:
        self.later()
        return self.service.record_payment("wo-1", payment_id=payment_id, amount=amount)

    def walk_to_overrun(self) -> None:
        """Works paid for 2 h, 3 h spent."""
        service = self.service
        service.request(order_id="wo-1", customer_id="cust-1", target="example.org", problem="500s")
        self.later()
        service.estimate("wo-1", staff_id="sam", hours="2")
        self.pay("p-1", "2000.00")
        self.later()
        service.schedule("wo-1", staff_id="sam", due=self.clock.now() + timedelta(days=2))
        self.later()
        service.start("wo-1", staff_id="sam")
        self.later()
        service.log_hours("wo-1", staff_id="sam", hours="3")
        self.later()


@pytest.mark.rule("H5", "K4")
def test_the_job_voids_the_invoice_of_a_lapsed_supplementary_quote() -> None:
    world = _World.make()
    world.walk_to_overrun()
    world.service.estimate("wo-1", staff_id="sam", hours="1")
    assert 0 == world.service.void_lapsed_invoices()
    world.later(24 * 8)
    assert 1 == world.service.void_lapsed_invoices()
    assert 0 == world.service.void_lapsed_invoices()
    assert len(world.billing.voided) == 1
    with pytest.raises(QuoteExpired):
        world.pay("p-2", "1000.00")
    assert world.billing.refunded  # money for a lapsed quote goes back (K2)


@pytest.mark.rule("H5", "I4", "C3", "K2")
def test_an_accepted_claim_refunds_the_first_and_the_supplementary_payment() -> None:
    world = _World.make()
    world.walk_to_overrun()
    world.service.estimate("wo-1", staff_id="sam", hours="1")
    world.pay("p-2", "1000.00")
    world.later()
    world.service.log_hours("wo-1", staff_id="sam", hours="0.5")
    world.later()
    world.service.complete("wo-1", staff_id="sam")
    world.later()
    world.service.file_claim("wo-1", customer_id="cust-1", text="it fails again")
    world.later()
    refunded = world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)
    assert State.REFUNDED is refunded.state
    assert refunded.ledger.refunded == refunded.ledger.paid == Money.of("3000.00")
    assert {r.payment_id for r in world.billing.refunds()} == {"p-1", "p-2"}


@pytest.mark.rule("H4", "H5")
def test_listings_show_the_open_supplementary_quote_and_the_hours_paid_for() -> None:
    quoted = _estimate(_overrun(), "1")
    shown = order_json(quoted, quoted.new_events)
    assert (shown["paid_hours"], shown["supplementary_quote"]["total"]) == ("2.5", "1000.00")
    assert any(
        "supplementary quote" in line and "1 h more" in line
        for line in order_lines(quoted, quoted.new_events)
    )
    paid = _pay(quoted, Money.of("1000.00"))
    assert order_json(paid, paid.new_events)["supplementary_quote"] is None
    assert any("3 h of 3.5 h paid for" in line for line in order_lines(paid, paid.new_events))
