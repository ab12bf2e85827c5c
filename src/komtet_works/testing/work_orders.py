"""The store's contracts: `WorkOrdersContract`, `OutboxContract`, `DurableStoreContract`.

A host's store subclasses them and provides the adapter under test as the ``orders``
fixture (empty, fresh for each test).  A store on a real database subclasses
`DurableStoreContract` and provides ``open_store`` instead: a callable that opens a new
adapter on the same database each time (the kit checks that committed work survives a
reopen, and that two connections see each other's versions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from komtet_works.adapters.memory import InMemoryNotifier, ManualClock
from komtet_works.domain import recorded
from komtet_works.domain.customers import Target, TargetKind
from komtet_works.domain.errors import (
    ConcurrencyError,
    InvalidInput,
    NaiveDatetime,
    NotificationFailed,
    TargetBusy,
    UnknownOrder,
)
from komtet_works.domain.events import Actor
from komtet_works.domain.keys import operation_key
from komtet_works.domain.lifecycle import Action, State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import MAX_TEXT, WorkOrder
from komtet_works.domain.works import Urgency
from komtet_works.ports import CompletionDateFacts, Facts, Message, RefundedFacts, WorkOrders
from komtet_works.relay import RelayPolicy, relay
from komtet_works.testing.orders import START, at_version, in_state, requested, take, walk
from komtet_works.testing.strategies import histories

__all__ = [
    "ODD_TEXTS",
    "DurableStore",
    "DurableStoreContract",
    "OutboxContract",
    "WorkOrdersContract",
]

#: Texts a store must keep exactly (or refuse with `InvalidInput`): quoting, SQL, NUL,
#: control characters, unicode of every width, and the longest text the domain accepts.
ODD_TEXTS: tuple[str, ...] = (
    'it\'s "quoted" `three` ways',
    "'); DROP TABLE work_orders; --",
    "Robert'); DELETE FROM work_order_events WHERE ('1' = '1",
    "nul \x00 inside",
    "\x00",
    "tab\tnew\nline\r\nbell\x07 esc\x1b del\x7f",
    "кириллица, 中文, العربية, עברית, हिन्दी",
    "emoji 🛠️👩‍🔧 and a flag 🇷🇺",
    "\u200b zero width \ufeff bom \u202e rtl override",
    "backslash \\ and \\x00 and \\u0000 spelled out",
    "%s %(name)s {} {0} $1 ? :name",
    "x" * MAX_TEXT,
    "ж" * MAX_TEXT,
)


class DurableStore(WorkOrders, Protocol):
    """A store on a real database: the queries a host's jobs need, and `close`."""

    def save_many(
        self, changes: Sequence[tuple[WorkOrder, int]], *, messages: Sequence[Message] = ()
    ) -> None: ...

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]: ...

    def overdue(self, now: datetime) -> Sequence[WorkOrder]: ...

    def verify_replay(self, order_id: str) -> Sequence[str]: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


def _message(order: WorkOrder, facts: Facts | None = None) -> Message:
    """A message about `order` at its version: by default, a completion date a day later."""
    told = facts if facts is not None else CompletionDateFacts(order.last_step_at.add(days=1))
    return Message(
        id=operation_key("message", order.id, order.version, told.kind.value),
        order_id=order.id,
        customer_id=order.customer_id,
        facts=told,
    )


def _saved(orders: WorkOrders, order: WorkOrder) -> WorkOrder:
    orders.save(order, expected_version=0)
    return order


def _next(order: WorkOrder, action: Action) -> WorkOrder:
    return take(order, action, order.last_step_at + timedelta(hours=1))


class WorkOrdersContract:
    """What every `WorkOrders` adapter does: the port's promises, test by test."""

    @pytest.fixture
    def orders(self) -> WorkOrders:
        """The adapter under test, empty; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `orders` fixture")

    def test_an_unknown_order_is_refused_with_unknown_order(self, orders: WorkOrders) -> None:
        """Getting an id nobody saved raises UnknownOrder."""
        with pytest.raises(UnknownOrder):
            orders.get("wo-nobody")

    def test_a_saved_new_order_reads_back_equal(self, orders: WorkOrders) -> None:
        """A new order saved at version 0 is read back equal, its history kept."""
        order = _saved(orders, requested())
        stored = orders.get(order.id)
        assert order == stored
        assert order.new_events == tuple(orders.history(order.id))
        assert () == stored.new_events

    @pytest.mark.parametrize("state", list(State))
    def test_an_order_in_any_state_reads_back_equal(self, orders: WorkOrders, state: State) -> None:
        """An order saved step by step reads back equal to the domain's, in every state."""
        order = in_state(state)
        for version in range(1, order.version + 1):
            step = at_version(order.new_events, version)
            orders.save(step, expected_version=version - 1)
        assert state is orders.get(order.id).state
        assert order == orders.get(order.id)

    def test_a_whole_history_saved_at_once_reads_back_equal(self, orders: WorkOrders) -> None:
        """Several new events saved in one call are all kept, in order."""
        order = in_state(State.CLAIMED)
        orders.save(order, expected_version=0)
        assert order == orders.get(order.id)
        assert order.version == orders.get(order.id).version

    def test_a_second_order_in_works_on_a_target_is_target_busy(self, orders: WorkOrders) -> None:
        """An order entering in_progress while another on its target is there raises
        TargetBusy and keeps nothing; once the first is completed, it starts."""
        first = _saved(orders, in_state(State.IN_PROGRESS, "wo-1"))
        second = _saved(orders, in_state(State.SCHEDULED, "wo-2"))
        with pytest.raises(TargetBusy):
            orders.save(_next(second, Action.START), expected_version=second.version)
        with pytest.raises(TargetBusy):  # a new order saved in works at once, too
            orders.save(in_state(State.IN_PROGRESS, "wo-3"), expected_version=0)
        assert (second, [first, second]) == (orders.get("wo-2"), list(orders.by_state(*State)))
        orders.save(_next(first, Action.COMPLETE), expected_version=first.version)
        orders.save(_next(second, Action.START), expected_version=second.version)
        assert State.IN_PROGRESS is orders.get("wo-2").state

    def test_on_target_lists_every_order_on_the_target_oldest_first(
        self, orders: WorkOrders
    ) -> None:
        """on_target gives the orders on that kind and name, of any customer, oldest first."""
        saved = [
            _saved(orders, in_state(State.PAID, "wo-2")),
            _saved(orders, requested("wo-1", customer_id="cust-2")),
        ]
        target = saved[0].target
        assert saved == list(orders.on_target(target))
        assert [] == list(orders.on_target(Target(TargetKind.SERVER, target.name)))

    def test_on_target_in_states_lists_only_those_and_follows_the_changes(
        self, orders: WorkOrders
    ) -> None:
        """on_target with states gives the orders on the target in one of them, oldest
        first, as they are after their latest save."""
        paid = _saved(orders, in_state(State.PAID, "wo-1"))
        requested_ = _saved(orders, requested("wo-2", customer_id="cust-2"))
        scheduled = _saved(orders, in_state(State.SCHEDULED, "wo-3"))
        target = paid.target
        assert [paid, scheduled] == list(orders.on_target(target, State.SCHEDULED, State.PAID))
        assert [requested_] == list(orders.on_target(target, State.REQUESTED))
        started = _next(scheduled, Action.START)
        orders.save(started, expected_version=scheduled.version)
        assert [started] == list(orders.on_target(target, State.IN_PROGRESS))
        assert [paid] == list(orders.on_target(target, State.SCHEDULED, State.PAID))
        assert [] == list(orders.on_target(Target(TargetKind.SERVER, target.name), *State))

    def test_saving_a_new_order_twice_is_a_concurrency_error(self, orders: WorkOrders) -> None:
        """A second order with the same id at version 0 is stale and stores nothing."""
        first = _saved(orders, requested(problem="first"))
        with pytest.raises(ConcurrencyError):
            orders.save(requested(problem="second"), expected_version=0)
        assert first == orders.get(first.id)

    def test_a_stale_save_raises_and_writes_nothing(self, orders: WorkOrders) -> None:
        """Two writers load version 1; the second save is stale and leaves the first's."""
        loaded = _saved(orders, requested())
        first = _next(loaded, Action.ESTIMATE)
        second = _next(loaded, Action.SUPPLEMENT)
        orders.save(first, expected_version=loaded.version)
        with pytest.raises(ConcurrencyError):
            orders.save(second, expected_version=loaded.version)
        assert first == orders.get(loaded.id)

    @pytest.mark.parametrize("expected_version", [0, 2, 7])
    def test_a_save_against_any_other_version_is_a_concurrency_error(
        self, orders: WorkOrders, expected_version: int
    ) -> None:
        """The stored version is 1: saving as if it were anything else is refused."""
        loaded = _saved(orders, requested())
        changed = walk(loaded, State.SCHEDULED)
        with pytest.raises(ConcurrencyError):
            orders.save(changed, expected_version=expected_version)
        assert loaded == orders.get(loaded.id)

    def test_an_update_of_an_order_never_saved_is_a_concurrency_error(
        self, orders: WorkOrders
    ) -> None:
        """Saving at version 1 an order the store does not have is stale."""
        order = in_state(State.ESTIMATED)
        with pytest.raises(ConcurrencyError):
            orders.save(order, expected_version=1)
        with pytest.raises(UnknownOrder):
            orders.get(order.id)

    def test_by_customer_lists_only_that_customers_orders_oldest_first(
        self, orders: WorkOrders
    ) -> None:
        """by_customer returns the customer's orders in the order they were first saved."""
        mine = [
            _saved(orders, requested("wo-b", customer_id="cust-1")),
            _saved(orders, requested("wo-a", customer_id="cust-1", at=START.add(hours=1))),
        ]
        _saved(orders, requested("wo-c", customer_id="cust-2"))
        assert [o.id for o in mine] == [o.id for o in orders.by_customer("cust-1")]
        assert mine == list(orders.by_customer("cust-1"))
        assert [] == list(orders.by_customer("cust-nobody"))

    def test_the_queue_sums_the_billable_hours_of_queued_orders_but_one(
        self, orders: WorkOrders
    ) -> None:
        """Rule L4: paid, scheduled and started orders' current quotes make the queue; the
        order asking is left out; an order leaving the queued states leaves the queue."""
        paid = _saved(orders, in_state(State.PAID, "wo-1"))
        scheduled = _saved(orders, in_state(State.SCHEDULED, "wo-2"))
        _saved(orders, in_state(State.ESTIMATED, "wo-3"))
        _saved(orders, in_state(State.COMPLETED, "wo-4"))
        started = _next(scheduled, Action.START)
        orders.save(started, expected_version=scheduled.version)
        hours = [o.ledger.current_quote.billable_hours for o in (paid, started)]  # type: ignore[union-attr]
        assert sum(hours) == orders.queued_hours(excluding="wo-nobody")
        assert hours[1] == orders.queued_hours(excluding="wo-1")
        assert hours[0] == orders.queued_hours(excluding="wo-2")
        done = _next(started, Action.COMPLETE)
        orders.save(done, expected_version=started.version)
        assert hours[0] == orders.queued_hours(excluding="wo-nobody")
        assert 0 == orders.queued_hours(excluding="wo-1")

    def test_the_urgent_queue_holds_the_queued_urgent_orders_only(self, orders: WorkOrders) -> None:
        """D-URGENCY: only queued orders scheduled as urgent make the urgent queue."""
        urgent = in_state(State.SCHEDULED, "wo-1")
        urgent = urgent.schedule(
            by=Actor.staff("staff-1"),
            at=urgent.last_step_at.add(hours=1),
            due=urgent.last_step_at.add(days=3),
            urgency=Urgency.URGENT,
        )
        _saved(orders, urgent)
        _saved(orders, in_state(State.SCHEDULED, "wo-2"))
        quote = urgent.ledger.current_quote
        assert quote is not None
        assert quote.billable_hours == orders.queued_hours(excluding="wo-2", urgent_only=True)
        assert 0 == orders.queued_hours(excluding="wo-1", urgent_only=True)
        assert 2 * quote.billable_hours == orders.queued_hours(excluding="")
        done = _next(_next(urgent, Action.START), Action.COMPLETE)
        orders.save(done, expected_version=urgent.version)
        assert 0 == orders.queued_hours(excluding="", urgent_only=True)

    def test_the_queue_keeps_hours_to_six_decimal_places_exactly(self, orders: WorkOrders) -> None:
        """Rule L4: estimates of six decimal places sum exactly, with no float in between."""
        fine = [Decimal("1.000001"), Decimal("2.6"), Decimal("9999.999999")]
        for number, hours in enumerate(fine):
            order = requested(f"wo-{number}", at=START)
            for action in (Action.ESTIMATE, Action.PAY):
                order = take(order, action, order.last_step_at + timedelta(hours=1), hours=hours)
            _saved(orders, order)
        assert sum(fine) == orders.queued_hours(excluding="")

    def test_by_state_lists_orders_in_any_given_state_oldest_first(
        self, orders: WorkOrders
    ) -> None:
        """by_state filters on the current state, any of several, oldest first."""
        paid = _saved(orders, in_state(State.PAID, "wo-1"))
        _saved(orders, in_state(State.DECLINED, "wo-2"))
        scheduled = _saved(orders, in_state(State.SCHEDULED, "wo-3"))
        estimated = _saved(orders, requested("wo-4"))
        orders.save(_next(estimated, Action.ESTIMATE), expected_version=1)
        assert [paid, scheduled] == list(orders.by_state(State.SCHEDULED, State.PAID))
        assert ["wo-4"] == [o.id for o in orders.by_state(State.ESTIMATED)]
        assert [] == list(orders.by_state(State.CLOSED))
        assert [] == list(orders.by_state())

    def test_the_stored_order_replays_from_its_own_events(self, orders: WorkOrders) -> None:
        """Rule L11: the stored order equals the replay of its stored events."""
        _saved(orders, in_state(State.REFUNDED))
        stored = orders.get("wo-1")
        assert stored == WorkOrder.replay(orders.history("wo-1"))

    @settings(
        max_examples=30,
        deadline=None,
        # one contract, run on each adapter by its own subclass: executors differ by design
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ],
    )
    @given(order=histories(), cuts=st.lists(st.integers(1, 40), max_size=3))
    def test_any_order_loads_from_its_state_exactly_as_its_history_replays(
        self, orders: WorkOrders, order: WorkOrder, cuts: list[int]
    ) -> None:
        """The read model: for any history, saved in one go or in several saves, the order
        `get` reads (its stored state, no event read) equals the order the domain built
        and the replay of the stored history, and so do the listings' orders."""
        versions = sorted({v for v in cuts if v < order.version} | {order.version})
        saved = 0
        try:
            for version in versions:
                step = at_version(order.new_events, version)
                orders.save(
                    attrs.evolve(step, new_events=order.new_events[saved:version]),
                    expected_version=saved,
                )
                saved = version
        except InvalidInput:  # a text this database cannot keep (NUL in PostgreSQL)
            return
        except ConcurrencyError:  # an earlier example saved an order under this id
            return
        stored = orders.get(order.id)
        assert order == stored
        assert order.version == stored.version
        assert order.last_step_at == stored.last_step_at
        history = orders.history(order.id)
        assert order.new_events == tuple(history)
        assert stored == WorkOrder.replay(history)
        assert [stored] == [o for o in orders.by_customer(order.customer_id) if o.id == order.id]
        assert [stored] == [o for o in orders.by_state(order.state) if o.id == order.id]

    def test_listings_come_in_pages_after_the_last_order_of_the_page_before(
        self, orders: WorkOrders
    ) -> None:
        """by_customer and by_state with `limit` and `after` (keyset pagination): the pages,
        joined, are the whole listing, oldest first, whatever changed state between."""
        saved = [
            _saved(orders, in_state(state, f"wo-{n}", customer_id=f"cust-{n % 2}"))
            for n, state in enumerate([State.PAID, State.ESTIMATED, State.PAID] * 3)
        ]
        scheduled = _next(saved[0], Action.SCHEDULE)  # the oldest moves on: its place kept
        orders.save(scheduled, expected_version=saved[0].version)
        listings: list[tuple[Callable[..., Sequence[WorkOrder]], list[WorkOrder]]] = [
            (functools.partial(orders.by_customer, "cust-0"), [scheduled, *saved[2::2]]),
            (functools.partial(orders.by_state, State.ESTIMATED, State.PAID), saved[1:]),
        ]
        for listing, whole in listings:
            pages: list[list[WorkOrder]] = []
            after: str | None = None
            while not pages or pages[-1]:
                pages.append(list(listing(limit=2, after=after)))
                after = pages[-1][-1].id if pages[-1] else None
            full, rest = divmod(len(whole), 2)
            assert [2] * full + [rest] * (rest > 0) + [0] == [len(page) for page in pages]
            assert whole == [order for page in pages for order in page]
            assert whole == list(listing())
            assert whole[1:] == list(listing(after=whole[0].id))

    @pytest.mark.parametrize("limit", [0, -1, True, 1.5, "2"])
    def test_a_page_of_no_or_an_odd_size_is_invalid_input(
        self, orders: WorkOrders, limit: object
    ) -> None:
        with pytest.raises(InvalidInput):
            orders.by_customer("cust-1", limit=limit)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            orders.by_state(State.PAID, limit=limit)  # type: ignore[arg-type]

    def test_a_page_after_an_unknown_order_is_unknown_order(self, orders: WorkOrders) -> None:
        _saved(orders, requested())
        with pytest.raises(UnknownOrder):
            orders.by_state(State.REQUESTED, limit=1, after="wo-nobody")

    def test_the_history_of_an_unknown_order_is_refused_with_unknown_order(
        self, orders: WorkOrders
    ) -> None:
        with pytest.raises(UnknownOrder):
            orders.history("wo-nobody")

    def test_an_order_saved_over_a_version_it_was_not_loaded_at_is_refused(
        self, orders: WorkOrders
    ) -> None:
        """An order loaded at version 2 cannot be saved over version 1: its second event
        is not in it to append.  ConcurrencyError, and nothing is stored."""
        loaded = _saved(orders, requested())
        estimated = _next(loaded, Action.ESTIMATE)
        orders.save(estimated, expected_version=1)
        later = _next(orders.get(loaded.id), Action.DECLINE)
        with pytest.raises(ConcurrencyError):
            orders.save(later, expected_version=1)
        assert estimated == orders.get(loaded.id)
        assert 2 == len(orders.history(loaded.id))

    @pytest.mark.parametrize("text", ODD_TEXTS, ids=lambda t: repr(t[:16]))
    def test_odd_texts_are_kept_exactly_or_refused_cleanly(
        self, orders: WorkOrders, text: str
    ) -> None:
        """Quotes, SQL, NUL, unicode, longest texts: read back exactly, or InvalidInput."""
        order = requested(problem=text)
        order = take(order, Action.SUPPLEMENT, START.add(minutes=1), text=text)
        try:
            orders.save(order, expected_version=0)
        except InvalidInput:
            with pytest.raises(UnknownOrder):
                orders.get(order.id)
            return
        stored = orders.get(order.id)
        assert text == stored.problem
        assert (text,) == recorded.supplements(orders.history(order.id))

    @pytest.mark.parametrize("text", ODD_TEXTS[:11], ids=lambda t: repr(t[:16]))
    def test_odd_ids_are_kept_exactly_or_refused_cleanly(
        self, orders: WorkOrders, text: str
    ) -> None:
        """Order and customer ids with odd characters: kept and findable, or InvalidInput."""
        order = requested(f"wo {text}", customer_id=f"cust {text}")
        try:
            orders.save(order, expected_version=0)
        except InvalidInput:
            assert [] == list(orders.by_customer(order.customer_id))
            return
        assert order == orders.get(order.id)
        assert [order] == list(orders.by_customer(order.customer_id))

    def test_the_longest_text_the_domain_accepts_is_kept_exactly(self, orders: WorkOrders) -> None:
        """A problem of MAX_TEXT characters (longer ones the domain refuses) reads back whole."""
        problem = ("проблема " * (MAX_TEXT // 9 + 1))[:MAX_TEXT]
        order = _saved(orders, requested(problem=problem))
        assert problem == orders.get(order.id).problem


class _FailingNotifier:
    """A notifier that refuses the messages of `fail_on` (for good, or until told)."""

    def __init__(self, clock: ManualClock, *fail_on: str) -> None:
        self.inner = InMemoryNotifier(clock)
        self.fail_on = set(fail_on)

    def send(self, message: Message) -> datetime:
        if message.id in self.fail_on:
            raise NotificationFailed(
                f"550 mailbox {message.customer_id} <{message.customer_id}@mail.example> refused"
            )
        return self.inner.send(message)

    @property
    def sent_ids(self) -> list[str]:
        return [message.id for _, message in self.inner.sent]


#: A policy that gives up soon, for the tests: 1, 2 then 4 minutes, dead after 4 tries.
QUICK: Final = RelayPolicy(max_attempts=4, first_retry=timedelta(minutes=1))


class OutboxContract:
    """What every store that is also the outbox does: messages commit with the order."""

    @pytest.fixture
    def orders(self) -> WorkOrders:
        """The store under test, empty; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `orders` fixture")

    def test_messages_saved_with_an_order_are_pending_oldest_first(
        self, orders: WorkOrders
    ) -> None:
        """Messages of a saved change are pending, in the order they were saved."""
        order = requested()
        estimated = _next(order, Action.ESTIMATE)
        first, second = _message(order), _message(estimated)
        orders.save(order, expected_version=0, messages=[first])
        orders.save(estimated, expected_version=1, messages=[second])
        assert [first, second] == list(orders.pending())
        assert [first] == list(orders.pending(1))

    def test_a_stale_save_queues_none_of_its_messages(self, orders: WorkOrders) -> None:
        """The messages of a save refused as stale are never sent: they were not kept."""
        loaded = _saved(orders, requested())
        orders.save(_next(loaded, Action.ESTIMATE), expected_version=1)
        late = _next(loaded, Action.SUPPLEMENT)
        with pytest.raises(ConcurrencyError):
            orders.save(late, expected_version=1, messages=[_message(late)])
        assert [] == list(orders.pending())

    def test_a_message_id_already_kept_is_queued_once(self, orders: WorkOrders) -> None:
        """The same message saved again (a retried use case) is one pending message."""
        order = requested()
        estimated = _next(order, Action.ESTIMATE)
        message = _message(order)
        orders.save(order, expected_version=0, messages=[message, message])
        orders.save(estimated, expected_version=1, messages=[message])
        assert [message] == list(orders.pending())

    def test_a_message_marked_sent_is_no_longer_pending(self, orders: WorkOrders) -> None:
        """mark_sent takes a message off the pending list; unknown ids change nothing."""
        order = requested()
        first, second = (
            _message(order),
            _message(order, RefundedFacts(Money.of("1000.00"), restored=False)),
        )
        orders.save(order, expected_version=0, messages=[first, second])
        orders.mark_sent(first.id, START.add(minutes=5))
        orders.mark_sent("no-such-message", START.add(minutes=5))
        assert [second] == list(orders.pending())

    def test_a_standard_library_instant_marks_a_message_sent(self, orders: WorkOrders) -> None:
        """mark_sent takes any aware datetime (a zoneinfo one here), as a host's notifier gives."""
        order = requested()
        orders.save(order, expected_version=0, messages=[_message(order)])
        orders.mark_sent(
            _message(order).id, datetime(2026, 3, 2, 12, tzinfo=ZoneInfo("Asia/Tokyo"))
        )
        assert [] == list(orders.pending())

    def test_a_naive_instant_is_refused_and_the_message_stays_pending(
        self, orders: WorkOrders
    ) -> None:
        """mark_sent with a datetime without a zone is NaiveDatetime; nothing is marked."""
        order = requested()
        orders.save(order, expected_version=0, messages=[_message(order)])
        with pytest.raises(NaiveDatetime):
            orders.mark_sent(_message(order).id, datetime(2026, 3, 2, 12))  # noqa: DTZ001
        assert [_message(order)] == list(orders.pending())

    def test_relay_sends_each_pending_message_once_with_its_id(self, orders: WorkOrders) -> None:
        """The relay sends everything pending, marks it sent; a second run sends nothing."""
        clock = ManualClock(START.add(hours=1))
        notifier = InMemoryNotifier(clock)
        saved = []
        for number in range(1, 4):
            order = requested(f"wo-{number}")
            saved.append(_message(order))
            orders.save(order, expected_version=0, messages=[saved[-1]])
        assert 3 == relay(orders, notifier, batch=2)
        assert 0 == relay(orders, notifier)
        assert saved == [message for _, message in notifier.sent]
        assert [] == list(orders.pending())

    def test_a_message_that_fails_is_tried_again_later_while_the_others_go_on(
        self, orders: WorkOrders
    ) -> None:
        """The refused message waits 1, then 2 minutes between tries; the others go out."""
        clock = ManualClock(START.add(hours=1))
        messages = [_message(_saved_with_message(orders, f"wo-{n}")) for n in range(1, 4)]
        notifier = _FailingNotifier(clock, messages[1].id)
        assert 2 == relay(orders, notifier, clock=clock, policy=QUICK)
        assert [messages[0].id, messages[2].id] == notifier.sent_ids
        assert [messages[1]] == list(orders.pending())
        clock.advance(timedelta(seconds=59))
        assert 0 == relay(orders, notifier, clock=clock, policy=QUICK)
        clock.advance(timedelta(seconds=1))
        assert 0 == relay(orders, notifier, clock=clock, policy=QUICK)  # second try failed
        clock.advance(timedelta(minutes=2) - timedelta(microseconds=1))
        notifier.fail_on.clear()
        assert 0 == relay(orders, notifier, clock=clock, policy=QUICK)
        clock.advance(timedelta(microseconds=1))
        assert 1 == relay(orders, notifier, clock=clock, policy=QUICK)
        assert [m.id for m in messages] == sorted(notifier.sent_ids)
        assert [] == list(orders.pending())

    def test_after_the_policys_attempts_a_message_is_parked_with_its_last_error(
        self, orders: WorkOrders
    ) -> None:
        """Four failed tries park the message as dead, its error kept without the customer's
        id or address; requeued, it goes out on the next run."""
        clock = ManualClock(START.add(hours=1))
        message = _message(_saved_with_message(orders, "wo-1", customer_id="ivan-petrov"))
        notifier = _FailingNotifier(clock, message.id)
        dead_after_each_try = []
        for _ in range(QUICK.max_attempts):
            assert 0 == relay(orders, notifier, clock=clock, policy=QUICK)
            dead_after_each_try.append(len(orders.dead_letters()))
            clock.advance(QUICK.longest_retry)
        assert [0, 0, 0, 1] == dead_after_each_try
        [dead] = orders.dead_letters()
        assert (message.id, "wo-1", message.kind.value, QUICK.max_attempts) == (
            dead.id,
            dead.order_id,
            dead.kind,
            dead.attempts,
        )
        assert "NotificationFailed: 550 mailbox <customer> <<address>> refused" == dead.error
        assert clock.now() - QUICK.longest_retry == dead.dead_at
        assert ([], 0) == (list(orders.pending()), relay(orders, notifier, clock=clock))
        assert [] == list(orders.requeue(["no-such-message"]))
        assert [message.id] == list(orders.requeue([message.id, message.id]))
        assert ([message], []) == (list(orders.pending()), list(orders.dead_letters()))
        notifier.fail_on.clear()
        assert 1 == relay(orders, notifier, clock=clock, policy=QUICK)
        assert [message.id] == notifier.sent_ids

    def test_a_later_message_of_an_order_waits_for_its_earlier_one(
        self, orders: WorkOrders
    ) -> None:
        """While an order's first message waits for its retry, its second is not sent; once
        the first goes out the second follows, in the same run."""
        clock = ManualClock(START.add(hours=1))
        order = requested("wo-1")
        estimated = _next(order, Action.ESTIMATE)
        first, second = _message(order), _message(estimated)
        orders.save(order, expected_version=0, messages=[first])
        orders.save(estimated, expected_version=1, messages=[second])
        notifier = _FailingNotifier(clock, first.id)
        assert 0 == relay(orders, notifier, clock=clock, policy=QUICK)
        clock.advance(timedelta(minutes=1))
        notifier.fail_on.clear()
        assert 2 == relay(orders, notifier, clock=clock, policy=QUICK)
        assert [first.id, second.id] == notifier.sent_ids

    def test_a_dead_message_no_longer_holds_its_orders_later_ones(self, orders: WorkOrders) -> None:
        """Parked as dead after its one allowed try, the first message lets the second go."""
        clock = ManualClock(START.add(hours=1))
        order = requested("wo-1")
        estimated = _next(order, Action.ESTIMATE)
        first, second = _message(order), _message(estimated)
        orders.save(order, expected_version=0, messages=[first])
        orders.save(estimated, expected_version=1, messages=[second])
        notifier = _FailingNotifier(clock, first.id)
        assert 1 == relay(orders, notifier, clock=clock, policy=RelayPolicy(max_attempts=1))
        assert ([second.id], [first.id]) == (
            notifier.sent_ids,
            [d.id for d in orders.dead_letters()],
        )

    def test_a_claimed_message_is_no_one_elses_until_its_lease_ends(
        self, orders: WorkOrders
    ) -> None:
        """A second claim takes nothing another claim holds; after the lease, it is due again."""
        now = START.add(hours=1)
        _saved_with_message(orders, "wo-1")
        lease = timedelta(minutes=10)
        [taken] = orders.claim(now, lease=lease).deliveries
        assert (0, []) == (taken.attempts, list(orders.claim(now, lease=lease).deliveries))
        assert [] == list(orders.claim(now + lease, lease=lease, order_id="wo-2").deliveries)
        assert [taken] == list(orders.claim(now + lease, lease=lease, order_id="wo-1").deliveries)

    def test_a_failure_of_a_message_sent_or_unknown_changes_nothing(
        self, orders: WorkOrders
    ) -> None:
        """failed() after mark_sent, or for an id nobody saved, leaves the outbox as it was."""
        now = START.add(hours=1)
        message = _message(_saved_with_message(orders, "wo-1"))
        orders.mark_sent(message.id, now)
        for message_id in (message.id, "no-such-message"):
            orders.failed(message_id, at=now, error="Oops: no", retry_at=None)
        assert ([], []) == (list(orders.pending()), list(orders.dead_letters()))


def _saved_with_message(
    orders: WorkOrders, order_id: str, customer_id: str = "cust-1"
) -> WorkOrder:
    """A new order `order_id`, saved with its default message (`_message`)."""
    order = requested(order_id, customer_id=customer_id)
    orders.save(order, expected_version=0, messages=[_message(order)])
    return order


class DurableStoreContract(WorkOrdersContract, OutboxContract):
    """A store on a real database: everything above, plus reopening and the job queries."""

    @pytest.fixture
    def open_store(self) -> Callable[[], DurableStore]:
        """Opens a new adapter on the same (initially empty) database each call."""
        raise NotImplementedError("subclass the contract and provide `open_store`")

    @pytest.fixture
    def orders(self, open_store: Callable[[], DurableStore]) -> DurableStore:
        return open_store()

    def test_committed_orders_and_messages_survive_a_reopen(
        self, open_store: Callable[[], DurableStore]
    ) -> None:
        """What one connection committed, a new connection reads back equal."""
        first = open_store()
        order = in_state(State.IN_PROGRESS)
        first.save(order, expected_version=0, messages=[_message(order)])
        first.close()
        again = open_store()
        assert order == again.get(order.id)
        assert [_message(order)] == list(again.pending())

    def test_a_second_connection_sees_the_first_ones_save_as_a_conflict(
        self, open_store: Callable[[], DurableStore]
    ) -> None:
        """Two connections load version 1; the second to save gets ConcurrencyError."""
        one, two = open_store(), open_store()
        loaded = _saved(one, requested())
        one.save(_next(loaded, Action.ESTIMATE), expected_version=1)
        with pytest.raises(ConcurrencyError):
            two.save(_next(two.get(loaded.id), Action.DECLINE), expected_version=0)
        with pytest.raises(ConcurrencyError):
            two.save(_next(loaded, Action.SUPPLEMENT), expected_version=1)
        assert State.ESTIMATED is two.get(loaded.id).state

    def test_a_batch_is_saved_whole(self, orders: DurableStore) -> None:
        """save_many keeps every order of the batch, and the batch's messages."""
        loaded = _saved(orders, requested("wo-1"))
        batch = [(_next(loaded, Action.ESTIMATE), 1), (in_state(State.PAID, "wo-2"), 0)]
        orders.save_many(batch, messages=[_message(batch[1][0])])
        assert [order for order, _ in batch] == list(orders.by_state(*State))
        assert [_message(batch[1][0])] == list(orders.pending())

    @pytest.mark.parametrize("stale", [0, 1])
    def test_a_batch_with_one_stale_order_keeps_nothing(
        self, orders: DurableStore, stale: int
    ) -> None:
        """One stale order in a batch: ConcurrencyError, and no order or message is kept."""
        loaded = _saved(orders, requested("wo-1"))
        batch = [(_next(loaded, Action.ESTIMATE), 1), (in_state(State.PAID, "wo-2"), 0)]
        batch[stale] = (batch[stale][0], 5) if stale == 0 else (requested("wo-1"), 0)
        with pytest.raises(ConcurrencyError):
            orders.save_many(batch, messages=[_message(batch[1][0])])
        assert [loaded] == list(orders.by_state(*State))
        assert [] == list(orders.pending())

    def test_reopening_keeps_the_schema_at_the_latest_version(
        self, open_store: Callable[[], DurableStore]
    ) -> None:
        """Opening an already migrated database applies nothing twice."""
        first = open_store().schema_version()
        assert first >= 1
        assert first == open_store().schema_version()

    def test_claim_window_ended_lists_completed_orders_past_their_deadline(
        self, orders: DurableStore
    ) -> None:
        """The closing job's query: completed, and the deadline strictly before now."""
        completed = _saved(orders, in_state(State.COMPLETED, "wo-1"))
        _saved(orders, in_state(State.IN_PROGRESS, "wo-2"))
        _saved(orders, in_state(State.CLOSED, "wo-3"))
        deadline = completed.works.claim_deadline
        assert deadline is not None
        assert [] == list(orders.claim_window_ended(deadline))
        assert [completed] == list(orders.claim_window_ended(deadline.add(microseconds=1)))

    def test_overdue_lists_orders_not_done_by_their_completion_date(
        self, orders: DurableStore
    ) -> None:
        """Scheduled or started orders whose due date is strictly before now."""
        scheduled = _saved(orders, in_state(State.SCHEDULED, "wo-1"))
        started = _saved(orders, in_state(State.IN_PROGRESS, "wo-2"))
        _saved(orders, in_state(State.COMPLETED, "wo-3"))
        due = scheduled.works.due
        assert due is not None
        assert [] == list(orders.overdue(due))
        assert [scheduled, started] == list(orders.overdue(due.add(days=1)))

    @pytest.mark.parametrize("state", list(State))
    def test_replay_of_the_event_log_matches_the_order_row(
        self, orders: DurableStore, state: State
    ) -> None:
        """Rule L11: verify_replay finds no difference between log and current state."""
        _saved(orders, in_state(state))
        assert [] == list(orders.verify_replay("wo-1"))

    def test_verify_replay_of_an_unknown_order_is_unknown_order(self, orders: DurableStore) -> None:
        """verify_replay refuses an id nobody saved."""
        with pytest.raises(UnknownOrder):
            orders.verify_replay("wo-nobody")
