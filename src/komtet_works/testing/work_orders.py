"""The store's contracts: `WorkOrdersContract`, `OutboxContract`, `DurableStoreContract`.

A host's store subclasses them and provides the adapter under test as the ``orders``
fixture (empty, fresh for each test).  A store on a real database subclasses
`DurableStoreContract` and provides ``open_store`` instead: a callable that opens a new
adapter on the same database each time (the kit checks that committed work survives a
reopen, and that two connections see each other's versions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import pytest

from komtet_works.adapters.memory import InMemoryNotifier, ManualClock
from komtet_works.domain.customers import Target, TargetKind
from komtet_works.domain.errors import (
    ConcurrencyError,
    InvalidInput,
    NaiveDatetime,
    NotificationFailed,
    TargetBusy,
    UnknownOrder,
)
from komtet_works.domain.keys import operation_key
from komtet_works.domain.lifecycle import Action, State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import MAX_TEXT, WorkOrder
from komtet_works.ports import CompletionDateFacts, Facts, Message, RefundedFacts, WorkOrders
from komtet_works.relay import relay
from komtet_works.testing.orders import START, in_state, requested, take, walk

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
    told = facts if facts is not None else CompletionDateFacts(order.events[-1].at.add(days=1))
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
    return take(order, action, order.events[-1].at + timedelta(hours=1))


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
        """A new order saved at version 0 is read back equal, events included."""
        order = _saved(orders, requested())
        stored = orders.get(order.id)
        assert order == stored
        assert order.events == stored.events

    @pytest.mark.parametrize("state", list(State))
    def test_an_order_in_any_state_reads_back_equal(self, orders: WorkOrders, state: State) -> None:
        """An order saved step by step reads back equal to the domain's, in every state."""
        order = in_state(state)
        for version in range(1, order.version + 1):
            step = WorkOrder.replay(order.events[:version])
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
        assert stored == WorkOrder.replay(stored.events)

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
        assert (text,) == stored.supplements

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
    def __init__(self, clock: ManualClock, fail_on: str) -> None:
        self.inner = InMemoryNotifier(clock)
        self.fail_on = fail_on

    def send(self, message: Message) -> datetime:
        if message.id == self.fail_on:
            raise NotificationFailed("the mail server is down")
        return self.inner.send(message)


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

    def test_a_message_the_notifier_refused_stays_pending(self, orders: WorkOrders) -> None:
        """A notifier failure stops the relay; the message is sent on the next run."""
        clock = ManualClock(START.add(hours=1))
        first, second = requested("wo-1"), requested("wo-2")
        orders.save(first, expected_version=0, messages=[_message(first)])
        orders.save(second, expected_version=0, messages=[_message(second)])
        failing = _FailingNotifier(clock, fail_on=_message(second).id)
        with pytest.raises(NotificationFailed):
            relay(orders, failing)
        assert [_message(second)] == list(orders.pending())
        working = InMemoryNotifier(clock)
        assert 1 == relay(orders, working)
        assert [_message(second)] == [message for _, message in working.sent]


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
