"""Eligibility: whose targets may be worked on, and when the discount applies (E1-E3, P4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from komtet_works import (
    Actor,
    AmbiguousTarget,
    Customer,
    HostingFaultFreeSupport,
    Money,
    NotCustomerTarget,
    Payment,
    Policy,
    State,
    Target,
    TargetKind,
    Tariff,
    UnknownCustomer,
    WorkOrder,
    WorkOrderService,
)
from komtet_works.adapters import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.testing.orders import START
from komtet_works.use_cases import BILLING
from strategies import TARGET_NAMES, customer_targets, customers

STAFF = Actor.staff("s1")
SUBSCRIBER = Customer(
    "c1",
    sites=frozenset({"shop.example", "blog.example"}),
    servers=frozenset({"vps-1.example"}),
    maintained_sites=frozenset({"shop.example"}),
)
LAPSED = Customer("c1", sites=SUBSCRIBER.sites, servers=SUBSCRIBER.servers)


def requested(target: str, customer: Customer = SUBSCRIBER) -> WorkOrder:
    return WorkOrder.request(
        order_id="o1", customer=customer, target=target, problem="a module fails", at=START
    )


def estimated(order: WorkOrder, customer: Customer) -> WorkOrder:
    return order.estimate(
        by=STAFF,
        at=START.add(hours=1),
        hours="2",
        tariff=Tariff(),
        customer=customer,
        policy=Policy(),
    )


# --- E4: targets by kind ----------------------------------------------------------------

TWIN = "twin.example"


def twins(customer: Customer, name: str) -> Customer:
    """The customer with `name` as one of their sites and one of their servers, maintained."""
    return Customer(
        customer.id,
        sites=customer.sites | {name},
        servers=customer.servers | {name},
        maintained_sites=customer.maintained_sites | {name},
    )


@pytest.mark.rule("E4")
@given(customer=customers(), name=TARGET_NAMES)
def test_a_name_that_is_a_site_and_a_server_needs_its_kind(customer: Customer, name: str) -> None:
    """Without a kind the name is `ambiguous_target`; with one, it is that target."""
    both = twins(customer, name)
    with pytest.raises(AmbiguousTarget) as refused:
        both.target(name)
    assert "ambiguous_target" == refused.value.code
    for kind in TargetKind:
        assert Target(kind, name) == both.target(name, kind)


@pytest.mark.rule("E4", "E1")
@given(pair=customer_targets())
def test_a_kind_the_name_is_not_is_not_the_customers_target(pair: tuple[Customer, str]) -> None:
    """A site asked for as a server (or the reverse) is `not_customer_target`."""
    customer, name = pair
    own = TargetKind.SITE if name in customer.sites else TargetKind.SERVER
    other = TargetKind.SERVER if own is TargetKind.SITE else TargetKind.SITE
    assert Target(own, name) == customer.target(name, own)
    with pytest.raises(NotCustomerTarget):
        customer.target(name, other)


@pytest.mark.rule("E4", "P4")
def test_the_discount_applies_to_the_site_not_to_the_server_of_the_same_name() -> None:
    """Works on the server of a maintained site's name pay the full price."""
    both = twins(SUBSCRIBER, TWIN)
    totals = {
        kind: estimated(
            WorkOrder.request(
                order_id="o1",
                customer=both,
                target=TWIN,
                problem="a module fails",
                at=START,
                target_kind=kind,
            ),
            both,
        )
        .ledger.quotes[-1]
        .total
        for kind in TargetKind
    }
    expected = {TargetKind.SITE: Money.of("1600.00"), TargetKind.SERVER: Money.of("2000.00")}
    assert expected == totals


# --- E1 --------------------------------------------------------------------------------


@pytest.mark.rule("E1")
@given(pair=customer_targets())
def test_a_customer_owns_exactly_their_sites_and_servers(pair: tuple[Customer, str]) -> None:
    """Customer.target finds each own target with its kind: a site or a server."""
    customer, name = pair
    kind = TargetKind.SITE if name in customer.sites else TargetKind.SERVER
    assert Target(kind, name) == customer.target(name)


@pytest.mark.rule("E1")
@given(customer=customers(), name=TARGET_NAMES)
def test_anything_but_the_customers_own_targets_is_refused(customer: Customer, name: str) -> None:
    """Third-party equipment and other customers' targets are `not_customer_target`."""
    assume(name not in customer.sites | customer.servers)
    with pytest.raises(NotCustomerTarget) as refused:
        customer.target(name)
    assert "not_customer_target" == refused.value.code


@pytest.mark.rule("E1")
def test_someone_the_directory_does_not_know_is_not_a_customer() -> None:
    """A customer id the directory has no entry for is `unknown_customer`."""
    clock = ManualClock(START)
    service = WorkOrderService(
        orders=InMemoryWorkOrders(),
        customers=InMemoryCustomerDirectory([SUBSCRIBER]),
        billing=InMemoryBilling(),
        backups=InMemoryBackups(),
        notifier=InMemoryNotifier(clock),
        clock=clock,
        calendar=InMemoryBusinessCalendar(),
    )
    with pytest.raises(UnknownCustomer) as refused:
        service.request(order_id="o1", customer_id="c404", target="shop.example", problem="x")
    assert "unknown_customer" == refused.value.code


@pytest.mark.rule("E1", "L1")
def test_an_order_on_another_customers_site_is_never_created() -> None:
    """WorkOrder.request refuses a site the customer does not own."""
    neighbour = Customer("c2", sites=frozenset({"other.example"}))
    with pytest.raises(NotCustomerTarget):
        requested("shop.example", customer=neighbour)


@pytest.mark.rule("E1", "L1")
@pytest.mark.parametrize(
    ("name", "kind"), [("shop.example", TargetKind.SITE), ("vps-1.example", TargetKind.SERVER)]
)
def test_an_order_is_about_one_of_the_customers_own_targets(name: str, kind: TargetKind) -> None:
    """The new order records the target with its kind, for the customer who asked."""
    order = requested(name)
    assert Target(kind, name) == order.target
    assert SUBSCRIBER.id == order.customer_id
    assert State.REQUESTED is order.state


@pytest.mark.rule("E1")
def test_a_target_reads_as_its_kind_and_name() -> None:
    """str(Target) says what it is: "site shop.example"."""
    assert "site shop.example" == str(Target(TargetKind.SITE, "shop.example"))
    assert "server vps-1.example" == str(Target(TargetKind.SERVER, "vps-1.example"))


# --- E2 --------------------------------------------------------------------------------


@pytest.mark.rule("E2")
def test_a_hosting_fault_goes_to_free_technical_support() -> None:
    """A problem of the hosting itself is `hosting_fault_free_support`, not paid works."""
    with pytest.raises(HostingFaultFreeSupport) as refused:
        WorkOrder.request(
            order_id="o1",
            customer=SUBSCRIBER,
            target="shop.example",
            problem="the hosting's PHP is broken",
            at=START,
            hosting_fault=True,
        )
    assert "hosting_fault_free_support" == refused.value.code


@pytest.mark.rule("E1", "E2")
def test_eligibility_of_the_target_is_checked_before_the_hosting_fault() -> None:
    """Someone else's target is `not_customer_target` even when a hosting fault is claimed."""
    with pytest.raises(NotCustomerTarget):
        WorkOrder.request(
            order_id="o1",
            customer=SUBSCRIBER,
            target="other.example",
            problem="p",
            at=START,
            hosting_fault=True,
        )


# --- E3, P4 ----------------------------------------------------------------------------


@pytest.mark.rule("E3", "P4")
@given(customer=customers())
def test_only_a_maintained_site_has_maintenance(customer: Customer) -> None:
    """has_maintenance_on is true for exactly the customer's maintained sites, never servers."""
    for name in customer.sites:
        site = Target(TargetKind.SITE, name)
        assert (name in customer.maintained_sites) == customer.has_maintenance_on(site)
    for name in customer.servers | customer.maintained_sites:
        assert not customer.has_maintenance_on(Target(TargetKind.SERVER, name))


@pytest.mark.rule("E3", "P4")
def test_the_estimate_of_a_maintained_site_carries_the_discount() -> None:
    """An active subscription on the serviced site gives 20% off at the estimate."""
    quote = estimated(requested("shop.example"), SUBSCRIBER).ledger.current_quote
    assert quote is not None
    assert Money.of("400.00") == quote.discount
    assert Money.of("1600.00") == quote.total


@pytest.mark.rule("P4")
@pytest.mark.parametrize("name", ["blog.example", "vps-1.example"])
def test_other_sites_and_servers_of_a_subscriber_get_no_discount(name: str) -> None:
    """The discount is for the maintained site only: not other sites, not servers."""
    quote = estimated(requested(name), SUBSCRIBER).ledger.current_quote
    assert quote is not None
    assert Money.zero() == quote.discount
    assert Money.of("2000.00") == quote.total


@pytest.mark.rule("E3")
def test_a_subscription_that_ended_before_the_estimate_gives_no_discount() -> None:
    """The directory's view at the estimate counts: a lapsed subscription means full price."""
    quote = estimated(requested("shop.example"), LAPSED).ledger.current_quote
    assert quote is not None
    assert Money.zero() == quote.discount
    assert quote.discount_reason is None


@pytest.mark.rule("E3")
@given(minutes=st.integers(1, 7 * 24 * 60))
def test_a_subscription_that_ends_after_the_estimate_keeps_the_quote(minutes: int) -> None:
    """Judged at the estimate (the default lock): the discounted quote stays payable."""
    order = estimated(requested("shop.example"), SUBSCRIBER)
    quote = order.ledger.current_quote
    assert quote is not None
    at = START.add(hours=1) + timedelta(minutes=minutes)
    paid = order.pay(
        by=BILLING,
        at=at,
        payment=Payment("pay-1", quote.total, at),
        policy=Policy(),
        tariff=Tariff(),
        customer=LAPSED,
    )
    assert State.PAID is paid.state
    assert Money.of("1600.00") == paid.ledger.paid
