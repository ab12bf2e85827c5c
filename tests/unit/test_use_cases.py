"""The application layer: every use case of `WorkOrderService` over the in-memory adapters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pendulum
import pytest

from komtet_works import (
    Actor,
    AmbiguousTarget,
    AmountMismatch,
    BackupFailed,
    BackupNotConfirmed,
    BillingFailed,
    CancellationNotAllowed,
    ClaimMustBeHonoured,
    ClaimOutcome,
    ClaimRemedy,
    ClaimVoidCustomerChanges,
    ClaimWindowClosed,
    ClaimWindowOpen,
    ConcurrencyError,
    Customer,
    HostingFaultFreeSupport,
    InvalidHours,
    InvalidInput,
    InvalidTransition,
    KomtetWorksError,
    Money,
    NoCurrentQuote,
    NotCustomerTarget,
    NoticeNotSent,
    NotificationFailed,
    NotOrderOwner,
    OrderExists,
    PaymentConflict,
    Policy,
    QuoteExpired,
    Refund,
    ReworkNotAgreed,
    State,
    Target,
    TargetKind,
    UnknownCustomer,
    UnknownOrder,
    WorkOrder,
    WorkOrderService,
    bootstrap,
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
from komtet_works.domain import recorded
from komtet_works.domain.commands import invoice_key, refund_key
from komtet_works.ports import Message, MessageKind, QuoteIssuedFacts
from komtet_works.relay import relay, relay_billing
from komtet_works.use_cases import BILLING, CLOSING_JOB

MOSCOW = "Europe/Moscow"
#: A Monday, an hour before the office opens (10:00-19:00 Moscow time).
MONDAY_9AM = pendulum.datetime(2025, 3, 3, 9, tz=MOSCOW)
CLAIM_WINDOW = timedelta(hours=72)

ALICE = Customer(
    "alice",
    sites=frozenset({"alice.ru", "shop.alice.ru"}),
    servers=frozenset({"vps-alice"}),
    maintained_sites=frozenset({"shop.alice.ru"}),
)
BOB = Customer("bob", sites=frozenset({"bob.ru"}))


class RecordingWorkOrders(InMemoryWorkOrders):
    """The in-memory store that also notes each save, and can lose one race on demand.

    `lose_next_save` loses the next save after `keep_saves` more; `after_next_get` is a
    concurrent writer that runs once, just after the next order is loaded.
    """

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[str, int]] = []
        self.lose_next_save = False
        self.keep_saves = 0
        self.after_next_get: Callable[[], object] | None = None

    def get(self, order_id: str) -> WorkOrder:
        order = super().get(order_id)
        writer, self.after_next_get = self.after_next_get, None
        if writer is not None:
            writer()
        return order

    def save(  # the same keywords as the store's, passed on as they come
        self, order: WorkOrder, *, expected_version: int, **extra: Any
    ) -> None:
        if self.lose_next_save and self.keep_saves:
            self.keep_saves -= 1
        elif self.lose_next_save:
            self.lose_next_save = False
            raise ConcurrencyError(f"someone else saved {order.id!r} first")
        super().save(order, expected_version=expected_version, **extra)
        self.saves.append((order.id, order.version))


class UnverifiableBackups(InMemoryBackups):
    """Backups whose snapshots never pass verification."""

    def verify(self, reference: str) -> bool:
        return False


@attrs.define
class World:
    """The service wired to in-memory adapters, with helpers to walk an order forward."""

    clock: ManualClock
    orders: RecordingWorkOrders
    customers: InMemoryCustomerDirectory
    billing: InMemoryBilling
    backups: InMemoryBackups
    notifier: InMemoryNotifier
    service: WorkOrderService

    def requested(self, order_id: str = "wo-1", target: str = "alice.ru") -> WorkOrder:
        return self.service.request(
            order_id=order_id, customer_id="alice", target=target, problem="the site is down"
        )

    def estimated(
        self, order_id: str = "wo-1", hours: str = "2", target: str = "alice.ru"
    ) -> WorkOrder:
        self.requested(order_id, target)
        return self.service.estimate(order_id, staff_id="sam", hours=hours)

    def paid(self, order_id: str = "wo-1", hours: str = "2", target: str = "alice.ru") -> WorkOrder:
        quote = self.estimated(order_id, hours, target).ledger.current_quote
        assert quote is not None
        self.billing.receive(payment_id=f"pay-{order_id}", order_id=order_id, amount=quote.total)
        return self.service.record_payment(
            order_id, payment_id=f"pay-{order_id}", amount=quote.total.amount
        )

    def scheduled(self, order_id: str = "wo-1") -> WorkOrder:
        self.paid(order_id)
        return self.service.schedule(order_id, staff_id="sam")

    def started(self, order_id: str = "wo-1") -> WorkOrder:
        self.scheduled(order_id)
        self.clock.advance(timedelta(hours=1))
        return self.service.start(order_id, staff_id="sam")

    def completed(self, order_id: str = "wo-1") -> WorkOrder:
        self.started(order_id)
        self.clock.advance(timedelta(hours=2))
        return self.service.complete(order_id, staff_id="sam")

    def claimed(
        self, order_id: str = "wo-1", remedy: ClaimRemedy = ClaimRemedy.REFUND
    ) -> WorkOrder:
        self.completed(order_id)
        self.clock.advance(timedelta(hours=5))
        return self.service.file_claim(
            order_id, customer_id="alice", text="still broken", remedy=remedy
        )

    def messages(self, kind: MessageKind) -> list[tuple[datetime, Message]]:
        return [(at, m) for at, m in self.notifier.sent if m.kind is kind]


def make_world(
    *,
    policy: Policy | None = None,
    calendar: InMemoryBusinessCalendar | None = None,
    backups: InMemoryBackups | None = None,
    notifier_clock: ManualClock | None = None,
) -> World:
    clock = ManualClock(MONDAY_9AM)
    orders = RecordingWorkOrders()
    customers = InMemoryCustomerDirectory([ALICE, BOB])
    billing = InMemoryBilling()
    backups = backups if backups is not None else InMemoryBackups()
    notifier = InMemoryNotifier(notifier_clock if notifier_clock is not None else clock)
    service = bootstrap.in_memory(
        directory=customers,
        orders=orders,
        billing=billing,
        backups=backups,
        notifier=notifier,
        clock=clock,
        calendar=calendar if calendar is not None else InMemoryBusinessCalendar(),
        policy=policy if policy is not None else Policy(),
    ).service
    return World(clock, orders, customers, billing, backups, notifier, service)


@pytest.fixture(name="world")
def fixture_world() -> World:
    return make_world()


def refused(
    world: World, order_id: str, error: type[KomtetWorksError], step: Callable[[], object]
) -> None:
    """Run a step the rules refuse; check the error and that the stored order is as before."""
    before = world.orders.get(order_id)
    with pytest.raises(error):
        step()
    assert before == world.orders.get(order_id)


# --- request ---------------------------------------------------------------------------------


@pytest.mark.rule("L1", "E1", "L11")
def test_a_customer_requests_works_on_their_own_site(world: World) -> None:
    """A request on the customer's own site is stored as a requested order by them, now."""
    order = world.requested()

    assert order == world.orders.get("wo-1")
    assert State.REQUESTED is order.state
    assert Target(TargetKind.SITE, "alice.ru") == order.target
    assert (Actor.customer("alice"), MONDAY_9AM) == (
        world.orders.history("wo-1")[0].actor,
        world.orders.history("wo-1")[0].at,
    )
    expected = [("wo-1", 1)]
    assert expected == world.orders.saves


@pytest.mark.rule("L1", "E1")
def test_a_customer_requests_works_on_their_own_server(world: World) -> None:
    """A request may be about one of the customer's servers."""
    order = world.requested(target="vps-alice")

    assert Target(TargetKind.SERVER, "vps-alice") == order.target


@pytest.mark.rule("E1")
def test_someone_who_is_not_a_customer_cannot_request_works(world: World) -> None:
    """A person the customer directory does not know is refused, and nothing is stored."""
    with pytest.raises(UnknownCustomer):
        world.service.request(
            order_id="wo-1", customer_id="mallory", target="alice.ru", problem="help"
        )

    with pytest.raises(UnknownOrder):
        world.orders.get("wo-1")


@pytest.mark.rule("E1")
def test_third_party_equipment_is_refused(world: World) -> None:
    """A site the provider does not host is refused, and nothing is stored."""
    with pytest.raises(NotCustomerTarget):
        world.requested(target="elsewhere.example.com")

    assert not world.orders.saves


@pytest.mark.rule("E1")
def test_another_customers_site_is_refused(world: World) -> None:
    """A customer cannot order works on a site of another customer."""
    with pytest.raises(NotCustomerTarget):
        world.requested(target="bob.ru")

    assert not world.orders.saves


@pytest.mark.rule("E2")
def test_a_problem_of_the_hosting_itself_goes_to_free_support(world: World) -> None:
    """A hosting fault is refused as paid works, and nothing is stored."""
    with pytest.raises(HostingFaultFreeSupport):
        world.service.request(
            order_id="wo-1",
            customer_id="alice",
            target="alice.ru",
            problem="the server is unreachable",
            hosting_fault=True,
        )

    assert not world.orders.saves


@pytest.mark.rule("L12")
def test_a_second_request_with_the_same_order_id_is_refused(world: World) -> None:
    """An order id that is taken is refused and the order under it stays as it was."""
    world.estimated()

    refused(world, "wo-1", OrderExists, lambda: world.requested(target="vps-alice"))


# --- estimate --------------------------------------------------------------------------------


@pytest.mark.rule("L2", "P1", "P7")
def test_an_estimate_issues_a_quote_and_sends_it_to_the_customer(world: World) -> None:
    """Staff's estimate becomes the current quote, and the customer gets it as a message."""
    world.requested()

    order = world.service.estimate("wo-1", staff_id="sam", hours="2")

    quote = order.ledger.current_quote
    assert quote is not None
    assert (State.ESTIMATED, Money.of("2000.00")) == (order.state, quote.total)
    assert order == world.orders.get("wo-1")
    [(_, message)] = world.messages(MessageKind.QUOTE_ISSUED)
    expected = ("wo-1", "alice")
    assert expected == (message.order_id, message.customer_id)
    assert QuoteIssuedFacts(quote) == message.facts


@pytest.mark.rule("P5")
def test_an_estimate_asks_billing_for_an_invoice_of_the_quote_total(world: World) -> None:
    """The billing system is asked for exactly one invoice, for the quote's total."""
    order = world.estimated(hours="1.1")

    [(key, invoice)] = world.billing.invoices.items()
    assert (invoice_key("wo-1", 1), "wo-1", Money.of("1100.00")) == (
        key,
        invoice.order_id,
        invoice.amount,
    )
    assert order.ledger.current_quote is not None
    assert order.ledger.current_quote.total == invoice.amount


@pytest.mark.rule("P4", "E3")
def test_an_estimate_on_a_maintained_site_carries_the_discount(world: World) -> None:
    """The site under Site Maintenance is quoted 20% off."""
    order = world.estimated(target="shop.alice.ru")

    quote = order.ledger.current_quote
    assert quote is not None
    assert (Money.of("400.00"), Money.of("1600.00")) == (quote.discount, quote.total)


@pytest.mark.rule("P8", "L12")
def test_hours_that_are_not_a_decimal_are_refused(world: World) -> None:
    """A float estimate is refused, and no invoice or message goes out."""
    world.requested()

    refused(
        world,
        "wo-1",
        InvalidHours,
        lambda: world.service.estimate(
            "wo-1",
            staff_id="sam",
            hours=2.5,  # type: ignore[arg-type]  # the run-time refusal, for unchecked callers
        ),
    )
    assert not world.billing.invoices
    assert not world.notifier.sent


@pytest.mark.rule("K3", "P5")
def test_a_billing_outage_during_an_estimate_keeps_the_quote_and_its_invoice_waits(
    world: World,
) -> None:
    """The quote is committed, its invoice waits in the billing outbox; the relay asks once."""
    world.requested()
    world.billing.failing = True

    order = world.service.estimate("wo-1", staff_id="sam", hours="2")
    assert (State.ESTIMATED, {}) == (order.state, world.billing.invoices)
    world.billing.failing = False
    assert (1, 0) == (
        relay_billing(world.orders, world.billing),
        relay_billing(world.orders, world.billing),
    )

    expected = (1, 1, 1)
    assert expected == (
        len(order.ledger.quotes),
        len(world.billing.invoices),
        len(world.messages(MessageKind.QUOTE_ISSUED)),
    )


# --- supplement and decline ------------------------------------------------------------------


@pytest.mark.rule("L3", "I2", "P7")
def test_a_supplement_withdraws_the_quote(world: World) -> None:
    """After a supplement the old quote stays on record but can no longer be paid."""
    world.estimated()

    order = world.service.supplement("wo-1", customer_id="alice", text="only the front page")

    expected = (State.REQUESTED, None, 1, ("only the front page",))
    assert expected == (
        order.state,
        order.ledger.current_quote,
        len(order.ledger.quotes),
        recorded.supplements(world.orders.history("wo-1")),
    )
    refused(
        world,
        "wo-1",
        NoCurrentQuote,
        lambda: world.service.record_payment("wo-1", payment_id="pay-1", amount="2000.00"),
    )


@pytest.mark.rule("L3", "I2")
def test_after_a_supplement_only_the_new_estimate_can_be_paid(world: World) -> None:
    """The new quote is the one paid, at its own total."""
    world.estimated(hours="3")
    world.service.supplement("wo-1", customer_id="alice", text="only the front page")
    world.service.estimate("wo-1", staff_id="sam", hours="1")

    refused(
        world,
        "wo-1",
        AmountMismatch,
        lambda: world.service.record_payment("wo-1", payment_id="pay-1", amount="3000.00"),
    )
    order = world.service.record_payment("wo-1", payment_id="pay-2", amount="1000.00")

    assert (State.PAID, Money.of("1000.00")) == (order.state, order.ledger.paid)


@pytest.mark.rule("L10")
def test_the_customer_declines_the_quote(world: World) -> None:
    """A declined order is final: staff cannot estimate it again."""
    world.estimated()

    order = world.service.decline("wo-1", customer_id="alice", note="too expensive")

    assert State.DECLINED is order.state
    refused(
        world,
        "wo-1",
        InvalidTransition,
        lambda: world.service.estimate("wo-1", staff_id="sam", hours="1"),
    )


@pytest.mark.rule("L14", "L12")
def test_another_customer_cannot_decline_the_quote(world: World) -> None:
    """Only the order's customer may decline it."""
    world.estimated()

    refused(world, "wo-1", NotOrderOwner, lambda: world.service.decline("wo-1", customer_id="bob"))


# --- payment ---------------------------------------------------------------------------------


@pytest.mark.rule("P5", "I1", "L4")
def test_a_payment_of_the_quote_total_pays_the_order(world: World) -> None:
    """The billing callback for the exact total makes the order paid, by that amount."""
    world.estimated()

    order = world.service.record_payment("wo-1", payment_id="pay-1", amount="2000.00")

    assert (State.PAID, Money.of("2000.00")) == (order.state, order.ledger.paid)
    assert BILLING == world.orders.history("wo-1")[-1].actor
    assert order == world.orders.get("wo-1")


@pytest.mark.rule("I3", "I1")
def test_a_retried_payment_callback_counts_once_and_saves_nothing(world: World) -> None:
    """The same payment reported again changes nothing and is not saved again."""
    world.estimated()
    first = world.service.record_payment("wo-1", payment_id="pay-1", amount="2000.00")
    saves = list(world.orders.saves)

    again = world.service.record_payment("wo-1", payment_id="pay-1", amount="2000")

    assert first == again
    assert saves == world.orders.saves
    assert (Money.of("2000.00"), 1) == (again.ledger.paid, len(again.ledger.payments))


@pytest.mark.rule("I2", "L12")
def test_a_payment_that_does_not_match_the_quote_is_refused(world: World) -> None:
    """One kopeck short is refused and the order stays estimated."""
    world.estimated()

    refused(
        world,
        "wo-1",
        AmountMismatch,
        lambda: world.service.record_payment("wo-1", payment_id="pay-1", amount="1999.99"),
    )
    assert State.ESTIMATED is world.orders.get("wo-1").state


@pytest.mark.rule("I3", "L12")
def test_the_same_payment_id_with_another_amount_is_a_conflict(world: World) -> None:
    """A payment id reported before with another amount is refused as a conflict."""
    world.paid()

    refused(
        world,
        "wo-1",
        PaymentConflict,
        lambda: world.service.record_payment("wo-1", payment_id="pay-wo-1", amount="1.00"),
    )


@pytest.mark.rule("I2")
def test_a_payment_at_the_last_instant_of_the_quote_is_accepted(world: World) -> None:
    """A quote is payable up to and including its `payable_until` instant."""
    world.estimated()
    world.clock.advance(timedelta(days=7))

    order = world.service.record_payment("wo-1", payment_id="pay-1", amount="2000.00")

    assert State.PAID is order.state


@pytest.mark.rule("I2", "L12")
def test_a_payment_after_the_quote_expired_is_refused(world: World) -> None:
    """A microsecond after the quote's validity the payment is refused."""
    world.estimated()
    world.clock.advance(timedelta(days=7, microseconds=1))

    refused(
        world,
        "wo-1",
        QuoteExpired,
        lambda: world.service.record_payment("wo-1", payment_id="pay-1", amount="2000.00"),
    )


# --- the completion date ---------------------------------------------------------------------


@pytest.mark.rule("L4", "P2")
def test_an_order_without_a_quote_is_suggested_the_minimum_term(world: World) -> None:
    """With an empty queue, an unquoted order needs one working hour from opening time."""
    world.requested()

    assert pendulum.datetime(2025, 3, 3, 11, tz=MOSCOW) == world.service.suggest_completion_date(
        "wo-1"
    )


@pytest.mark.rule("L4")
def test_the_suggested_date_counts_the_queue_of_other_paid_orders(world: World) -> None:
    """8 h queued ahead plus 2 h of this order: 9 h on Monday, the last hour on Tuesday."""
    world.paid("queued", hours="8")
    world.estimated("unpaid", hours="40")
    world.estimated("wo-1", hours="2")

    suggested = world.service.suggest_completion_date("wo-1")

    assert pendulum.datetime(2025, 3, 4, 11, tz=MOSCOW) == suggested


@pytest.mark.rule("L4")
def test_the_suggested_date_skips_holidays() -> None:
    """With Tuesday a holiday, the hour left over on Monday evening is worked on Wednesday."""
    world = make_world(
        calendar=InMemoryBusinessCalendar(timezone=MOSCOW, exceptions={date(2025, 3, 4): None})
    )
    world.paid("queued", hours="8")
    world.estimated("wo-1", hours="2")

    suggested = world.service.suggest_completion_date("wo-1")

    assert pendulum.datetime(2025, 3, 5, 11, tz=MOSCOW) == suggested


@pytest.mark.rule("L4")
def test_staff_announce_the_suggested_completion_date(world: World) -> None:
    """Without a date of their own, staff announce the suggested one and the customer is told."""
    world.paid()

    order = world.service.schedule("wo-1", staff_id="sam")

    assert (State.SCHEDULED, pendulum.datetime(2025, 3, 3, 12, tz=MOSCOW)) == (
        order.state,
        order.works.due,
    )
    [(_, message)] = world.messages(MessageKind.COMPLETION_DATE)
    expected = ("wo-1", "alice")
    assert expected == (message.order_id, message.customer_id)


@pytest.mark.rule("L4")
def test_staff_may_announce_a_date_of_their_own(world: World) -> None:
    """A future date given by staff is the one announced."""
    world.paid()
    due = pendulum.datetime(2025, 3, 10, 18, tz=MOSCOW)

    order = world.service.schedule("wo-1", staff_id="sam", due=due)

    assert due == order.works.due


@pytest.mark.rule("L4", "L12")
def test_a_completion_date_in_the_past_is_refused(world: World) -> None:
    """A due date that is not in the future is refused."""
    world.paid()

    refused(
        world,
        "wo-1",
        InvalidInput,
        lambda: world.service.schedule("wo-1", staff_id="sam", due=MONDAY_9AM),
    )


@pytest.mark.rule("L4", "L10")
def test_no_completion_date_before_payment(world: World) -> None:
    """An estimated, unpaid order cannot be scheduled."""
    world.estimated()

    refused(
        world, "wo-1", InvalidTransition, lambda: world.service.schedule("wo-1", staff_id="sam")
    )


# --- cancellation ----------------------------------------------------------------------------


@pytest.mark.rule("D-CANCELLATION", "I4")
def test_cancelling_after_payment_refunds_everything(world: World) -> None:
    """A cancellation before the works refunds the payment in full, with billing's receipt."""
    world.scheduled()

    order = world.service.cancel("wo-1", customer_id="alice")

    receipt = world.billing.refunded[refund_key("pay-wo-1")]
    assert State.CANCELLED is order.state
    assert (Refund("pay-wo-1", Money.of("2000.00"), receipt.reference),) == order.ledger.refunds
    assert (1, Money.of("2000.00")) == (len(world.billing.refunded), receipt.amount)
    expected = 1
    assert expected == len(world.messages(MessageKind.REFUNDED))


@pytest.mark.rule("D-CANCELLATION", "I4", "L11")
def test_a_cancellation_retried_after_a_billing_outage_refunds_once(world: World) -> None:
    """An outage leaves the order cancelling, no money moved; the retry refunds once."""
    world.paid()
    world.billing.failing = True

    with pytest.raises(BillingFailed):
        world.service.cancel("wo-1", customer_id="alice")
    pending = world.orders.get("wo-1")
    assert (State.CANCELLING, ()) == (pending.state, pending.ledger.refunds)
    assert not world.billing.refunded
    world.billing.failing = False
    order = world.service.cancel("wo-1", customer_id="alice")

    expected = [refund_key("pay-wo-1")]
    assert expected == list(world.billing.refunded)
    assert (State.CANCELLED, order.ledger.paid) == (order.state, order.ledger.refunded)
    assert [State.CANCELLING, State.CANCELLED] == [
        e.after for e in world.orders.history("wo-1")[-2:]
    ]


@pytest.mark.rule("D-CANCELLATION", "L14")
def test_another_customer_cannot_settle_a_pending_cancellation(world: World) -> None:
    """A cancelling order is settled by its own customer's retry, never by another's."""
    world.paid()
    world.billing.failing = True
    with pytest.raises(BillingFailed):
        world.service.cancel("wo-1", customer_id="alice")
    world.billing.failing = False

    refused(world, "wo-1", NotOrderOwner, lambda: world.service.cancel("wo-1", customer_id="bob"))
    assert not world.billing.refunded


@pytest.mark.rule("D-CANCELLATION", "L12", "I4")
def test_no_cancellation_when_the_policy_forbids_it() -> None:
    """With cancellations off the step is refused and no money goes back."""
    world = make_world(policy=Policy(cancel_before_start=False))
    world.paid()

    refused(
        world,
        "wo-1",
        CancellationNotAllowed,
        lambda: world.service.cancel("wo-1", customer_id="alice"),
    )
    assert not world.billing.refunded


@pytest.mark.rule("D-CANCELLATION", "L10", "I4")
def test_no_cancellation_once_works_started(world: World) -> None:
    """Works in progress cannot be cancelled, and nothing is refunded."""
    world.started()

    refused(
        world, "wo-1", InvalidTransition, lambda: world.service.cancel("wo-1", customer_id="alice")
    )
    assert not world.billing.refunded


@pytest.mark.rule("L14", "I4")
def test_another_customer_cannot_cancel(world: World) -> None:
    """Only the order's customer may cancel it; nothing is refunded."""
    world.paid()

    refused(world, "wo-1", NotOrderOwner, lambda: world.service.cancel("wo-1", customer_id="bob"))
    assert not world.billing.refunded


# --- start -----------------------------------------------------------------------------------


@pytest.mark.rule("L5")
def test_works_start_with_a_verified_backup_taken_first(world: World) -> None:
    """The backup is taken and verified when works start, of the order's target as it was."""
    world.backups.data["alice.ru"] = {"index.php": "v1"}
    world.scheduled()
    world.clock.advance(timedelta(hours=1))

    order = world.service.start("wo-1", staff_id="sam")

    backup = order.works.backup
    assert backup is not None
    assert (True, world.clock.now(), world.clock.now()) == (
        backup.verified,
        backup.taken_at,
        order.works.started_at,
    )
    expected = ("alice.ru", {"index.php": "v1"})
    assert expected == world.backups.snapshots[backup.reference]
    assert State.IN_PROGRESS is order.state


@pytest.mark.rule("L6")
def test_the_customer_is_told_to_make_no_changes_when_works_start(world: World) -> None:
    """Starting the works sends the customer the works-starting message."""
    world.started()

    [(_, message)] = world.messages(MessageKind.WORKS_STARTING)
    expected = ("wo-1", "alice")
    assert expected == (message.order_id, message.customer_id)


@pytest.mark.rule("L5", "D-BACKUP-FAILURE", "L12")
def test_a_failing_backup_keeps_the_order_scheduled(world: World) -> None:
    """Without a backup the works do not start: the order stays scheduled, nobody is told."""
    world.scheduled()
    world.backups.failing_snapshots = True

    refused(world, "wo-1", BackupFailed, lambda: world.service.start("wo-1", staff_id="sam"))
    assert State.SCHEDULED is world.orders.get("wo-1").state
    assert not world.messages(MessageKind.WORKS_STARTING)


@pytest.mark.rule("L5", "D-BACKUP-FAILURE", "L12")
def test_an_unverified_backup_keeps_the_order_scheduled() -> None:
    """A backup that cannot be verified does not count: the works do not start."""
    world = make_world(backups=UnverifiableBackups())
    world.scheduled()

    refused(world, "wo-1", BackupNotConfirmed, lambda: world.service.start("wo-1", staff_id="sam"))
    assert not world.messages(MessageKind.WORKS_STARTING)


@pytest.mark.rule("L5", "L10")
def test_works_do_not_start_before_a_completion_date_is_announced(world: World) -> None:
    """A paid order must be scheduled first; no backup is taken for a refused start."""
    world.paid()

    refused(world, "wo-1", InvalidTransition, lambda: world.service.start("wo-1", staff_id="sam"))
    assert not world.backups.snapshots


# --- customer changes and completion ---------------------------------------------------------


@pytest.mark.rule("L6", "L11")
def test_a_customer_change_is_recorded_at_the_providers_time(world: World) -> None:
    """A change reported during the works is kept with the clock's instant and the customer."""
    world.started()
    world.clock.advance(timedelta(minutes=30))

    order = world.service.record_customer_change("wo-1", customer_id="alice", note="new plugin")

    assert (world.clock.now(),) == order.works.customer_changes
    assert (Actor.customer("alice"), State.IN_PROGRESS) == (
        world.orders.history("wo-1")[-1].actor,
        order.state,
    )


@pytest.mark.rule("L7", "D-CLOCK", "C1")
def test_the_window_counts_from_the_send_time_the_notifier_reports() -> None:
    """The notice goes out at completion; the send time the notifier reports (its clock,
    here 42 s after the service's) is recorded and opens the window."""
    mail_clock = ManualClock(MONDAY_9AM)
    world = make_world(notifier_clock=mail_clock)
    world.started()
    world.clock.advance(timedelta(hours=2))
    delivered = world.clock.now().add(seconds=42)
    mail_clock.set(delivered)

    order = world.service.complete("wo-1", staff_id="sam")

    assert (delivered, delivered + CLAIM_WINDOW) == (
        order.works.notice_sent_at,
        order.works.claim_deadline,
    )
    [(delivered_at, message)] = world.messages(MessageKind.WORKS_COMPLETED)
    assert (delivered, "alice") == (delivered_at, message.customer_id)
    assert State.COMPLETED is order.state


class _DownNotifier:
    """A mail server that is down: every send fails."""

    def send(self, message: Message) -> datetime:
        raise NotificationFailed(f"cannot send {message.id}")


@pytest.mark.rule("L7", "D-CLOCK")
def test_a_notice_that_cannot_be_delivered_waits_in_the_outbox_for_the_relay(
    world: World,
) -> None:
    """The completion is committed with its notice; relay delivers it later, same message id."""
    world.started()
    world.service.notifier = _DownNotifier()

    order = world.service.complete("wo-1", staff_id="sam")

    assert order == world.orders.get("wo-1")
    [pending] = world.orders.pending()
    assert (MessageKind.WORKS_COMPLETED, "wo-1") == (pending.kind, pending.order_id)
    assert 1 == relay(world.orders, world.notifier)
    assert [pending.id] == [m.id for _, m in world.messages(MessageKind.WORKS_COMPLETED)]
    assert [] == list(world.orders.pending())


@pytest.mark.rule("C1", "D-CLOCK")
def test_a_notice_sent_late_by_the_relay_opens_the_window_then(world: World) -> None:
    """Mail down at completion: no window, no claim, no close; the relay two days later
    sends the notice, records its send time, and the customer has the whole window."""
    world.started()
    world.service.notifier = _DownNotifier()
    world.clock.advance(timedelta(hours=2))
    waiting = world.service.complete("wo-1", staff_id="sam")
    assert None is waiting.works.claim_deadline
    world.clock.advance(timedelta(days=10))
    assert () == world.service.close_expired().closed
    with pytest.raises(NoticeNotSent):
        world.service.file_claim("wo-1", customer_id="alice", text="broken")

    sent = world.clock.now()
    assert 1 == relay(world.orders, world.notifier, after_sent=world.service.record_notice_sent)

    order = world.orders.get("wo-1")
    assert (sent, sent + CLAIM_WINDOW) == (order.works.notice_sent_at, order.works.claim_deadline)
    assert Actor.system("notifier") == world.orders.history("wo-1")[-1].actor
    world.clock.set(sent + CLAIM_WINDOW)
    assert (
        State.CLAIMED is world.service.file_claim("wo-1", customer_id="alice", text="broken").state
    )


@pytest.mark.rule("C1")
def test_recording_a_notice_is_idempotent_and_ignores_other_messages(world: World) -> None:
    """A second report of the same notice, a notice of an earlier completion and any other
    kind of message change nothing."""
    order = world.completed()
    [(sent_at, notice)] = world.messages(MessageKind.WORKS_COMPLETED)
    [(_, quote)] = world.messages(MessageKind.QUOTE_ISSUED)
    world.clock.advance(timedelta(hours=1))
    world.service.record_notice_sent(notice, world.clock.now())
    world.service.record_notice_sent(quote, world.clock.now())
    assert order == world.orders.get("wo-1")
    assert sent_at == order.works.notice_sent_at


# --- failure ---------------------------------------------------------------------------------


@pytest.mark.rule("L8", "I4")
def test_a_failure_refunds_every_payment_then_restores_the_backup(world: World) -> None:
    """Not solved: the payment goes back and the target's data is as it was before the works."""
    original = "as before"
    world.backups.data["alice.ru"] = original
    world.started()
    rewritten = "half-rewritten by the works"
    world.backups.data["alice.ru"] = rewritten

    order = world.service.report_failure("wo-1", staff_id="sam", note="cannot reproduce")

    receipt = world.billing.refunded[refund_key("pay-wo-1")]
    expected = (State.REFUNDED, True, 1)
    assert expected == (
        order.state,
        order.works.restored,
        len(world.messages(MessageKind.REFUNDED)),
    )
    assert (Refund("pay-wo-1", Money.of("2000.00"), receipt.reference),) == order.ledger.refunds
    assert original == world.backups.data["alice.ru"]


@pytest.mark.rule("L8", "D-RESTORE")
def test_a_failed_restore_does_not_undo_the_refund(world: World) -> None:
    """When the restore fails the order is still refunded, and records restored = False."""
    original = "as before"
    world.backups.data["alice.ru"] = original
    world.started()
    rewritten = "half-rewritten by the works"
    world.backups.data["alice.ru"] = rewritten
    world.backups.failing_restores = True

    order = world.service.report_failure("wo-1", staff_id="sam")

    expected = (State.REFUNDED, False)
    assert expected == (order.state, order.works.restored)
    assert order.ledger.paid == order.ledger.refunded
    assert rewritten == world.backups.data["alice.ru"]


@pytest.mark.rule("L8", "L11", "I4")
def test_a_billing_outage_after_the_intent_leaves_the_order_refunding(world: World) -> None:
    """The intent is kept, no refund and no restore happen; the retry settles it once."""
    original = "as before"
    world.backups.data["alice.ru"] = original
    world.started()
    rewritten = "half-rewritten by the works"
    world.backups.data["alice.ru"] = rewritten
    world.billing.failing = True

    with pytest.raises(BillingFailed):
        world.service.report_failure("wo-1", staff_id="sam")
    pending = world.orders.get("wo-1")
    assert (State.REFUNDING, (), None) == (
        pending.state,
        pending.ledger.refunds,
        pending.works.restored,
    )
    assert not world.billing.refunded
    assert rewritten == world.backups.data["alice.ru"]
    assert [] == world.messages(MessageKind.REFUNDED)
    world.billing.failing = False
    order = world.service.report_failure("wo-1", staff_id="sam")

    [receipt] = world.billing.refunded.values()
    assert (State.REFUNDED, True) == (order.state, order.works.restored)
    assert (receipt.reference,) == tuple(r.reference for r in order.ledger.refunds)
    assert original == world.backups.data["alice.ru"]
    assert 1 == len(world.messages(MessageKind.REFUNDED))


@pytest.mark.rule("L8", "L12", "I4")
def test_a_concurrent_change_between_load_and_save_of_a_failure_moves_no_money(
    world: World,
) -> None:
    """A writer that saves first makes the failure lose: no refund, no restore, no intent."""
    world.started()
    world.backups.data["alice.ru"] = "changed by the customer"
    world.clock.advance(timedelta(minutes=5))

    def concurrent_writer() -> None:
        world.service.record_customer_change("wo-1", customer_id="alice")

    world.orders.after_next_get = concurrent_writer

    with pytest.raises(ConcurrencyError):
        world.service.report_failure("wo-1", staff_id="sam")

    stored = world.orders.get("wo-1")
    assert (State.IN_PROGRESS, ()) == (stored.state, stored.ledger.refunds)
    assert "CustomerChangeRecorded" == type(world.orders.history("wo-1")[-1]).__name__
    assert not world.billing.refunded
    assert [] == world.backups.restored
    assert "changed by the customer" == world.backups.data["alice.ru"]


@pytest.mark.rule("L8", "I4", "L12")
def test_a_failure_retried_after_a_lost_settlement_refunds_once_with_the_same_receipt(
    world: World,
) -> None:
    """A refund that went out before a lost settlement is not paid twice on the retry."""
    world.started()
    world.orders.lose_next_save = True
    world.orders.keep_saves = 1

    with pytest.raises(ConcurrencyError):
        world.service.report_failure("wo-1", staff_id="sam")
    assert State.REFUNDING is world.orders.get("wo-1").state
    [first] = world.billing.refunded.values()
    order = world.service.settle_refunds("wo-1")

    assert [first] == list(world.billing.refunded.values())
    assert State.REFUNDED is order.state
    assert (first.reference,) == tuple(r.reference for r in order.ledger.refunds)


@pytest.mark.rule("L8", "L10")
def test_only_a_pending_refund_can_be_settled(world: World) -> None:
    """settle_refunds on an order in progress is `invalid_transition`; nothing is refunded."""
    world.started()

    refused(world, "wo-1", InvalidTransition, lambda: world.service.settle_refunds("wo-1"))
    assert not world.billing.refunded


@pytest.mark.rule("L8", "L10", "I4")
def test_no_failure_before_works_start(world: World) -> None:
    """A scheduled order cannot be reported failed; nothing is refunded."""
    world.scheduled()

    refused(
        world,
        "wo-1",
        InvalidTransition,
        lambda: world.service.report_failure("wo-1", staff_id="sam"),
    )
    assert not world.billing.refunded


# --- claims ----------------------------------------------------------------------------------


def _outcome(world: World, order: WorkOrder) -> ClaimOutcome | None:
    """The outcome of the order's latest claim, as its state keeps it and as its history
    (every claim, for people) tells it."""
    claim = order.works.claim
    assert claim is not None
    assert recorded.claims(world.orders.history(order.id))[-1] == claim
    return claim.outcome


@pytest.mark.rule("C1")
def test_a_claim_at_the_last_instant_of_the_window_is_filed(world: World) -> None:
    """The deadline instant itself is inside the window."""
    completed = world.completed()
    assert completed.works.claim_deadline is not None
    world.clock.set(completed.works.claim_deadline)

    order = world.service.file_claim("wo-1", customer_id="alice", text="still broken")

    assert State.CLAIMED is order.state
    assert order.works.claim is not None
    assert world.clock.now() == order.works.claim.filed_at
    assert (order.works.claim,) == recorded.claims(world.orders.history("wo-1"))


@pytest.mark.rule("C1", "L12")
def test_a_claim_after_the_deadline_is_refused(world: World) -> None:
    """A microsecond after the deadline the window is closed."""
    completed = world.completed()
    assert completed.works.claim_deadline is not None
    world.clock.set(completed.works.claim_deadline.add(microseconds=1))

    refused(
        world,
        "wo-1",
        ClaimWindowClosed,
        lambda: world.service.file_claim("wo-1", customer_id="alice", text="still broken"),
    )


@pytest.mark.rule("C2", "L12")
def test_a_claim_is_void_after_a_customer_change_during_the_works(world: World) -> None:
    """A change the customer made while the works ran voids the claim."""
    world.started()
    world.service.record_customer_change("wo-1", customer_id="alice", note="edited a template")
    world.clock.advance(timedelta(hours=1))
    world.service.complete("wo-1", staff_id="sam")

    refused(
        world,
        "wo-1",
        ClaimVoidCustomerChanges,
        lambda: world.service.file_claim("wo-1", customer_id="alice", text="still broken"),
    )


@pytest.mark.rule("C2", "L12")
def test_a_claim_is_void_after_a_customer_change_after_completion(world: World) -> None:
    """A change after the completion notice voids the claim too."""
    world.completed()
    world.service.record_customer_change("wo-1", customer_id="alice")

    refused(
        world,
        "wo-1",
        ClaimVoidCustomerChanges,
        lambda: world.service.file_claim("wo-1", customer_id="alice", text="still broken"),
    )


@pytest.mark.rule("C2")
def test_a_change_before_the_works_started_does_not_void_a_claim(world: World) -> None:
    """Changes made while the order waited for the works do not count against a claim."""
    world.scheduled()
    world.service.record_customer_change("wo-1", customer_id="alice")
    world.clock.advance(timedelta(hours=1))
    world.service.start("wo-1", staff_id="sam")
    world.service.complete("wo-1", staff_id="sam")

    order = world.service.file_claim("wo-1", customer_id="alice", text="still broken")

    assert State.CLAIMED is order.state


@pytest.mark.rule("C3", "L8", "I4")
def test_an_accepted_claim_refunds_and_restores(world: World) -> None:
    """Staff accepting a claim refund the payment and restore the start-of-works backup."""
    original = "as before"
    world.backups.data["alice.ru"] = original
    world.claimed()
    world.backups.data["alice.ru"] = "rewritten by the works"

    order = world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)

    receipt = world.billing.refunded[refund_key("pay-wo-1")]
    expected = (State.REFUNDED, True, ClaimOutcome.REFUND)
    assert expected == (
        order.state,
        order.works.restored,
        _outcome(world, order),
    )
    assert (Refund("pay-wo-1", Money.of("2000.00"), receipt.reference),) == order.ledger.refunds
    assert original == world.backups.data["alice.ru"]
    expected_told = [MessageKind.CLAIM_DECIDED, MessageKind.REFUNDED]
    assert expected_told == [m.kind for _, m in world.notifier.sent[-2:]]


@pytest.mark.rule("C3", "L8", "I4")
def test_an_accepted_claim_retried_after_a_billing_outage_settles_once(world: World) -> None:
    """The outage leaves the claim decided and the order refunding; the retry settles it."""
    world.claimed()
    world.billing.failing = True

    with pytest.raises(BillingFailed):
        world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)
    pending = world.orders.get("wo-1")
    assert (State.REFUNDING, ClaimOutcome.REFUND) == (
        pending.state,
        _outcome(world, pending),
    )
    world.billing.failing = False
    order = world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)

    assert [refund_key("pay-wo-1")] == list(world.billing.refunded)
    assert (State.REFUNDED, order.ledger.paid) == (order.state, order.ledger.refunded)


@pytest.mark.rule("C3", "C5")
def test_where_the_policy_allows_it_a_rejected_claim_returns_the_order_to_completed() -> None:
    """A host whose terms allow rejections keeps the money and sends the order back."""
    world = make_world(policy=Policy(claims_may_be_rejected=True))
    world.claimed()

    order = world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REJECT)

    expected = (State.COMPLETED, ClaimOutcome.REJECT)
    assert expected == (order.state, _outcome(world, order))
    assert not order.ledger.refunds
    assert not world.billing.refunded


@pytest.mark.rule("C5")
def test_under_the_default_policy_a_claim_cannot_be_rejected(world: World) -> None:
    """Reject is `claim_must_be_honoured`: the order stays claimed, nothing is told."""
    world.claimed()

    refused(
        world,
        "wo-1",
        ClaimMustBeHonoured,
        lambda: world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REJECT),
    )


@pytest.mark.rule("C5", "C3")
def test_rework_of_a_claim_asking_for_a_refund_is_refused(world: World) -> None:
    """Only the customer agrees to rework: staff cannot rework a refund claim."""
    world.claimed()

    refused(
        world,
        "wo-1",
        ReworkNotAgreed,
        lambda: world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REWORK),
    )


@pytest.mark.rule("E4")
def test_a_request_names_the_kind_of_its_target() -> None:
    """The use case takes target_kind as text; an unknown kind is invalid input."""
    world = make_world()
    world.customers.put(
        attrs.evolve(ALICE, servers=ALICE.servers | {"alice.ru"})  # alice.ru is both now
    )
    order = world.service.request(
        order_id="wo-1", customer_id="alice", target="alice.ru", problem="x", target_kind="server"
    )
    assert Target(TargetKind.SERVER, "alice.ru") == order.target
    with pytest.raises(InvalidInput) as refusal:
        world.service.request(
            order_id="wo-2", customer_id="alice", target="alice.ru", problem="x", target_kind="vps"
        )
    assert "target_kind" == refusal.value.field
    with pytest.raises(AmbiguousTarget):
        world.service.request(order_id="wo-3", customer_id="alice", target="alice.ru", problem="x")
    assert ["wo-1"] == [o.id for o in world.orders.by_state(State.REQUESTED)]


@pytest.mark.rule("C5")
def test_an_unknown_remedy_is_invalid_input(world: World) -> None:
    """A remedy other than refund or rework is refused with the field named."""
    world.completed()
    with pytest.raises(InvalidInput) as refusal:
        world.service.file_claim("wo-1", customer_id="alice", text="x", remedy="discount")
    assert "remedy" == refusal.value.field


@pytest.mark.rule("C3", "C5", "C1")
def test_rework_reopens_the_works_and_the_new_notice_opens_a_new_window(world: World) -> None:
    """Rework the customer asked for puts the order back in progress; the new notice opens a
    new window with its own claim, and one more in it is refused."""
    world.claimed(remedy=ClaimRemedy.REWORK)
    world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REWORK)
    assert State.IN_PROGRESS is world.orders.get("wo-1").state
    world.clock.advance(timedelta(hours=3))

    order = world.service.complete("wo-1", staff_id="sam")

    assert world.clock.now() + CLAIM_WINDOW == order.works.claim_deadline
    world.clock.advance(timedelta(hours=1))
    again = world.service.file_claim("wo-1", customer_id="alice", text="still broken")
    assert (State.CLAIMED, 2) == (again.state, len(recorded.claims(world.orders.history("wo-1"))))


@pytest.mark.rule("L14", "L12")
def test_another_customer_cannot_file_a_claim(world: World) -> None:
    """Only the order's customer may claim about its works."""
    world.completed()

    refused(
        world,
        "wo-1",
        NotOrderOwner,
        lambda: world.service.file_claim("wo-1", customer_id="bob", text="broken"),
    )


# --- closing ---------------------------------------------------------------------------------


@pytest.mark.rule("C4", "L12")
def test_an_order_does_not_close_while_claims_can_be_filed(world: World) -> None:
    """At the deadline instant the window is still open, so the order stays completed."""
    completed = world.completed()
    assert completed.works.claim_deadline is not None
    world.clock.set(completed.works.claim_deadline)

    refused(
        world,
        "wo-1",
        ClaimWindowOpen,
        lambda: world.service.close("wo-1", staff_id="sam"),
    )
    assert () == world.service.close_expired().closed


@pytest.mark.rule("C4", "L10")
def test_an_order_closes_after_the_claim_window(world: World) -> None:
    """Once the window has ended the closing job closes the order, and nothing follows."""
    completed = world.completed()
    assert completed.works.claim_deadline is not None
    world.clock.set(completed.works.claim_deadline.add(microseconds=1))

    report = world.service.close_expired()
    order = world.orders.get("wo-1")

    assert ("wo-1",) == report.closed
    assert (State.CLOSED, CLOSING_JOB) == (order.state, world.orders.history("wo-1")[-1].actor)
    refused(
        world,
        "wo-1",
        InvalidTransition,
        lambda: world.service.file_claim("wo-1", customer_id="alice", text="late"),
    )


@pytest.mark.rule("C4")
def test_the_closing_job_reports_an_order_it_could_not_close_and_closes_the_rest(
    world: World,
) -> None:
    """An order someone changed meanwhile is refused with its code; the others still close."""
    world.completed("wo-1")
    world.completed("wo-2")
    deadline = world.orders.get("wo-2").works.claim_deadline
    assert deadline is not None
    world.clock.set(deadline.add(days=1))
    world.orders.lose_next_save = True

    report = world.service.close_expired()

    assert (("wo-2",), {"wo-1": "stale_version"}) == (report.closed, dict(report.refused))
    assert State.COMPLETED is world.orders.get("wo-1").state


# --- the whole story -------------------------------------------------------------------------


@pytest.mark.rule("L11")
def test_the_events_of_a_whole_lifecycle_rebuild_the_order(world: World) -> None:
    """Every step of a claimed, reworked and closed order is an event; replaying rebuilds it."""
    world.claimed(remedy=ClaimRemedy.REWORK)
    world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REWORK)
    completed = world.service.complete("wo-1", staff_id="sam")
    assert completed.works.claim_deadline is not None
    world.clock.set(completed.works.claim_deadline.add(seconds=1))

    order = world.service.close("wo-1", staff_id="sam")

    assert order == WorkOrder.replay(world.orders.history("wo-1"))
    assert [e.after for e in world.orders.history("wo-1")[:-1]] == [
        e.before for e in world.orders.history("wo-1")[1:]
    ]
    expected = (12, State.CLOSED)  # two completions, each with its notice sent
    assert expected == (order.version, order.state)


@pytest.mark.rule("L12")
def test_a_step_on_an_unknown_order_is_refused(world: World) -> None:
    """Steps on an order id nobody requested are refused as unknown."""
    with pytest.raises(UnknownOrder):
        world.service.supplement("nope", customer_id="alice", text="more")


@pytest.mark.rule("L4")
def test_the_queue_holds_only_work_waiting_for_staff(world: World) -> None:
    """A completed order's hours no longer delay a new one: 2 h from Monday noon end at 14:00."""
    world.completed("done")
    world.estimated("wo-1", hours="2")

    suggested = world.service.suggest_completion_date("wo-1")

    assert pendulum.datetime(2025, 3, 3, 12, tz=MOSCOW) == world.clock.now()
    assert pendulum.datetime(2025, 3, 3, 14, tz=MOSCOW) == suggested
