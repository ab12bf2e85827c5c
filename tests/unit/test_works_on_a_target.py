"""Works on a target: one order in works at a time, ownership checked again, restores that
would undo later works or overwrite a new owner's data withheld (rules T1-T3), and the
customer bound to each backup (D-BACKUP-CUSTOMER)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_use_cases import ALICE, BOB, World, make_world

from komtet_works import (
    ClaimOutcome,
    InvalidTransition,
    KomtetWorksError,
    NotCustomerTarget,
    State,
    TargetBusy,
    WithdrawalReason,
    WorkOrder,
)
from komtet_works.domain.errors import (
    ActorNotAllowed,
    InvalidInput,
    OutOfOrder,
    RestoreNotPending,
)
from komtet_works.domain.events import Actor
from komtet_works.domain.lifecycle import WORKS_UNDER_WAY
from komtet_works.domain.works import RestoreWithheldReason
from komtet_works.ports import MessageKind, RestoreWithheldFacts


@pytest.fixture(name="world")
def fixture_world() -> World:
    return make_world()


def _give_alice_ru_to_bob(world: World) -> None:
    world.customers.put(attrs.evolve(ALICE, sites=ALICE.sites - {"alice.ru"}))
    world.customers.put(attrs.evolve(BOB, sites=BOB.sites | {"alice.ru"}))


@pytest.mark.rule("T1")
def test_a_second_order_on_a_busy_site_starts_only_after_the_first_completes(
    world: World,
) -> None:
    """start of a second order on a site in works is target_busy, backs up nothing, and
    succeeds once the first order's works are complete."""
    world.started("wo-1")
    world.scheduled("wo-2")
    snapshots = dict(world.backups.snapshots)
    before = world.orders.get("wo-2")

    with pytest.raises(TargetBusy):
        world.service.start("wo-2", staff_id="sam")

    assert before == world.orders.get("wo-2")
    assert snapshots == world.backups.snapshots
    world.clock.advance(timedelta(hours=1))
    world.service.complete("wo-1", staff_id="sam")
    assert State.IN_PROGRESS is world.service.start("wo-2", staff_id="sam").state


@pytest.mark.rule("T1")
def test_the_store_itself_refuses_a_second_order_in_works_on_a_target(world: World) -> None:
    """Saving a second order into in_progress on a busy target raises TargetBusy from the
    store and keeps nothing, whatever the use case read before."""
    world.started("wo-1")
    world.scheduled("wo-2")
    order = world.orders.get("wo-2")
    world.clock.advance(timedelta(hours=1))
    backup = world.orders.get("wo-1").works.backup
    assert backup is not None
    started = order.start(
        by=Actor.staff("sam"),
        at=world.clock.now(),
        backup=attrs.evolve(backup, taken_at=world.clock.now()),
    )

    with pytest.raises(TargetBusy):
        world.orders.save(started, expected_version=order.version)

    assert order == world.orders.get("wo-2")


@pytest.mark.rule("T1")
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=30))
def test_at_most_one_order_per_target_is_ever_in_works(steps: list[tuple[int, bool]]) -> None:
    """For every sequence of starts and completions of four orders on two sites, no site
    ever has two orders in works, and a start is refused only while its site is busy."""
    world = make_world()
    targets = ("alice.ru", "shop.alice.ru")
    for n in range(4):
        world.paid(f"wo-{n}", target=targets[n % 2])
        world.service.schedule(f"wo-{n}", staff_id="sam")
    for n, starting in steps:
        world.clock.advance(timedelta(minutes=10))
        order_id = f"wo-{n}"
        order = world.orders.get(order_id)
        busy = any(
            o.id != order_id and o.state in WORKS_UNDER_WAY
            for o in world.orders.on_target(order.target)
        )
        try:
            if starting:
                world.service.start(order_id, staff_id="sam")
            else:
                world.service.complete(order_id, staff_id="sam")
        except TargetBusy:
            assert (True, State.SCHEDULED) == (busy and starting, order.state)
        except InvalidTransition:
            pass
        for target in {o.target for o in world.orders.by_state(*State)}:
            in_works = [o.id for o in world.orders.on_target(target) if o.state in WORKS_UNDER_WAY]
            assert len(in_works) <= 1


@pytest.mark.rule("T2")
def test_a_site_given_to_another_customer_before_the_start_is_not_backed_up(
    world: World,
) -> None:
    """start on a site that is no longer the customer's is not_customer_target, takes no
    backup, changes nothing; withdrawing the order then refunds it in full."""
    world.scheduled("wo-1")
    _give_alice_ru_to_bob(world)
    before = world.orders.get("wo-1")

    with pytest.raises(NotCustomerTarget, match="withdraw"):
        world.service.start("wo-1", staff_id="sam")

    assert before == world.orders.get("wo-1")
    assert {} == world.backups.snapshots
    withdrawn = world.service.withdraw("wo-1", staff_id="sam", reason=WithdrawalReason.OTHER)
    assert (State.WITHDRAWN, withdrawn.ledger.paid) == (withdrawn.state, withdrawn.ledger.refunded)


@pytest.mark.rule("T2")
def test_a_refund_does_not_restore_over_a_new_owners_data(world: World) -> None:
    """A failure refunded after the site passed to another customer refunds everything,
    restores nothing, records why, and tells the customer so."""
    world.started("wo-1")
    _give_alice_ru_to_bob(world)
    world.clock.advance(timedelta(hours=1))

    refunded = world.service.report_failure("wo-1", staff_id="sam")

    assert (State.REFUNDED, refunded.ledger.paid) == (refunded.state, refunded.ledger.refunded)
    assert [] == world.backups.restored
    works = refunded.works
    assert (False, RestoreWithheldReason.NOT_CUSTOMER_TARGET) == (
        works.restored,
        works.restore_withheld,
    )
    ((_, told),) = world.messages(MessageKind.RESTORE_WITHHELD)
    assert (
        RestoreWithheldFacts(refunded.ledger.refunded, RestoreWithheldReason.NOT_CUSTOMER_TARGET)
        == told.facts
    )
    with pytest.raises(RestoreNotPending):  # a new owner's data is never overridden
        world.service.decide_restore("wo-1", staff_id="sam", restore=True)


def _refund_after_later_works(world: World) -> None:
    """wo-1 completed, then wo-2's works on the same site, then wo-1's claim accepted."""
    world.completed("wo-1")
    world.clock.advance(timedelta(hours=1))
    world.scheduled("wo-2")
    world.clock.advance(timedelta(hours=1))
    world.service.start("wo-2", staff_id="sam")
    world.clock.advance(timedelta(hours=1))
    world.service.file_claim("wo-1", customer_id="alice", text="still broken")
    world.service.resolve_claim("wo-1", staff_id="sam", outcome=ClaimOutcome.REFUND)


@pytest.mark.rule("T3")
def test_refunding_the_first_order_leaves_the_second_orders_works_in_place(
    world: World,
) -> None:
    """A refund whose backup predates another order's works refunds in full, restores
    nothing, records the conflict with that order, and tells the customer."""
    _refund_after_later_works(world)

    refunded = world.orders.get("wo-1")
    assert (State.REFUNDED, refunded.ledger.paid) == (refunded.state, refunded.ledger.refunded)
    assert [] == world.backups.restored
    assert (RestoreWithheldReason.RESTORE_CONFLICT, "wo-2", True) == (
        refunded.works.restore_withheld,
        refunded.works.conflicting_order,
        refunded.works.restore_pending_decision,
    )
    ((_, told),) = world.messages(MessageKind.RESTORE_WITHHELD)
    assert RestoreWithheldReason.RESTORE_CONFLICT == told.facts.reason  # type: ignore[attr-defined]


@pytest.mark.rule("T3")
def test_staff_may_restore_anyway_once_recorded_as_an_override(world: World) -> None:
    """decide_restore(restore=True) restores the first order's backup and records the
    override; a second decision is restore_not_pending."""
    _refund_after_later_works(world)
    world.clock.advance(timedelta(hours=1))

    decided = world.service.decide_restore("wo-1", staff_id="sam", restore=True, note="agreed")

    backup = decided.works.backup
    assert backup is not None
    assert [backup.reference] == world.backups.restored
    assert (True, True, False) == (
        decided.works.restore_override,
        decided.works.restored,
        decided.works.restore_pending_decision,
    )
    with pytest.raises(RestoreNotPending):
        world.service.decide_restore("wo-1", staff_id="sam", restore=False)


@pytest.mark.rule("T3")
def test_staff_may_leave_the_later_works_in_place(world: World) -> None:
    """decide_restore(restore=False) restores nothing and closes the question."""
    _refund_after_later_works(world)

    decided = world.service.decide_restore("wo-1", staff_id="sam", restore=False)

    assert [] == world.backups.restored
    assert (False, False) == (decided.works.restore_override, decided.works.restored)


@pytest.mark.rule("T3")
def test_only_staff_decide_a_restore_conflict(world: World) -> None:
    """A customer deciding a restore conflict is actor_not_allowed; the order is unchanged."""
    _refund_after_later_works(world)
    order = world.orders.get("wo-1")

    with pytest.raises(ActorNotAllowed):
        order.decide_restore(
            by=Actor.customer("alice"), at=world.clock.now(), restore=True, restored=True
        )


@pytest.mark.rule("D-BACKUP-CUSTOMER")
def test_the_backup_at_start_is_taken_for_the_orders_customer(world: World) -> None:
    """start passes the order's customer to the backups, which bind it to the backup."""
    started = world.started("wo-1")

    backup = started.works.backup
    assert backup is not None
    assert "alice" == world.backups.owners[backup.reference]


@pytest.mark.rule("T3")
def test_a_restore_decision_is_refused_unless_it_is_staffs_due_and_in_time(
    world: World,
) -> None:
    """decide_restore refuses: an order not refunded, the refunds system, a restore made
    without deciding to, a time before the order's last step; the order is unchanged."""
    _refund_after_later_works(world)
    paid = world.paid("wo-3", target="shop.alice.ru")
    order, now, staff = world.orders.get("wo-1"), world.clock.now(), Actor.staff("sam")
    refused: list[tuple[type[KomtetWorksError], Callable[[], WorkOrder]]] = [
        (RestoreNotPending, lambda: paid.decide_restore(
            by=staff, at=now, restore=True, restored=True)),
        (ActorNotAllowed, lambda: order.decide_restore(
            by=Actor.system("refunds"), at=now, restore=True, restored=True)),
        (InvalidInput, lambda: order.decide_restore(
            by=staff, at=now, restore=False, restored=True)),
        (OutOfOrder, lambda: order.decide_restore(
            by=staff, at=now - timedelta(days=1), restore=False, restored=False)),
        (RestoreNotPending, lambda: order.withhold_restore(
            by=staff, at=now, reason=RestoreWithheldReason.RESTORE_CONFLICT)),
    ]  # fmt: skip
    for error, step in refused:
        with pytest.raises(error):
            step()
    assert order == world.orders.get("wo-1")
