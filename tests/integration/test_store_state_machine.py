"""Each store against the in-memory model: random saves, stale saves, crashes, reopens."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pendulum
import psycopg
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql
from psycopg.conninfo import make_conninfo

from komtet_works.adapters.memory import InMemoryWorkOrders
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.errors import ConcurrencyError, KomtetWorksError
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports import CompletionDateFacts, Message
from komtet_works.testing import DurableStore
from komtet_works.testing.orders import at_version, requested, take
from komtet_works.testing.strategies import actions_for, delays, instants, texts

ORDER_IDS = ("wo-1", "wo 'two'", "wo-три")
CUSTOMERS = ("cust-1", "cust-2")
SETTINGS = settings(max_examples=20, stateful_step_count=30, deadline=None)


def _message(order: WorkOrder) -> Message:
    return Message(
        f"{order.id}:{order.version}",
        order.id,
        order.customer_id,
        CompletionDateFacts(order.last_step_at),
    )


class StoreMachine(RuleBasedStateMachine):
    """The store under test and the in-memory model take the same saves, in the same order."""

    open_store: Callable[[], DurableStore]

    def __init__(self) -> None:
        super().__init__()
        self.model = InMemoryWorkOrders()
        self.store = self.open_store()

    def teardown(self) -> None:
        self.store.close()

    def _both(self, order: WorkOrder, expected_version: int) -> None:
        """Save to the model and the store; they must agree on success or ConcurrencyError."""
        outcomes = []
        for orders in (self.model, self.store):
            try:
                orders.save(order, expected_version=expected_version, messages=[_message(order)])
                outcomes.append("saved")
            except ConcurrencyError:
                outcomes.append("stale")
        assert outcomes[0] == outcomes[1]

    @initialize()
    def empty(self) -> None:
        assert [] == list(self.store.by_state(*State))

    @rule(
        order_id=st.sampled_from(ORDER_IDS),
        customer_id=st.sampled_from(CUSTOMERS),
        problem=texts.filter(str.strip),
        at=instants,
    )
    def request(self, order_id: str, customer_id: str, problem: str, at: pendulum.DateTime) -> None:
        self._both(requested(order_id, customer_id=customer_id, problem=problem, at=at), 0)

    @precondition(lambda self: bool(self.model.by_state(*State)))
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(list(self.model.by_state(*State))))
        actions = actions_for(order)
        if not actions:
            return
        action = data.draw(st.sampled_from(actions))
        at = order.last_step_at + data.draw(delays)
        try:
            changed = take(order, action, at, text=data.draw(texts))
        except KomtetWorksError:
            return
        self._both(changed, order.version)

    @precondition(lambda self: bool(self.model.by_state(*State)))
    @rule(data=st.data(), behind=st.integers(1, 3))
    def stale_save(self, data: st.DataObject, behind: int) -> None:
        """A save based on an older version is refused, whatever it carries."""
        order = data.draw(st.sampled_from(list(self.model.by_state(*State))))
        late = at_version(self.store.history(order.id), max(order.version - behind, 1))
        with pytest.raises(ConcurrencyError):
            self.store.save(
                late, expected_version=max(late.version - 1, 0), messages=[_message(late)]
            )

    @rule()
    def crash_and_reopen(self) -> None:
        self.store.close()
        self.store = self.open_store()

    @rule(count=st.integers(1, 3))
    def mark_some_sent(self, count: int) -> None:
        for message in self.model.pending(count):
            at = requested().last_step_at
            self.model.mark_sent(message.id, at)
            self.store.mark_sent(message.id, at)

    @invariant()
    def stored_state_equals_the_model(self) -> None:
        model = list(self.model.by_state(*State))
        for order in model:
            assert order == self.store.get(order.id)
            assert [] == list(self.store.verify_replay(order.id))
        assert model == list(self.store.by_state(*State))
        for customer_id in CUSTOMERS:
            assert list(self.model.by_customer(customer_id)) == list(
                self.store.by_customer(customer_id)
            )
        assert list(self.model.pending(1000)) == list(self.store.pending(1000))


@pytest.mark.rule("L11", "L12")
def test_the_sqlite_store_always_equals_the_model() -> None:
    """SQLite file vs the in-memory model, through saves, stale saves and reopens."""

    class SqliteMachine(StoreMachine):
        def __init__(self) -> None:
            self.directory = Path(tempfile.mkdtemp())
            self.open_store = lambda: SqliteWorkOrders(
                self.directory / "orders.sqlite", migrate=True
            )
            super().__init__()

        def teardown(self) -> None:
            super().teardown()
            shutil.rmtree(self.directory)

    run_state_machine_as_test(SqliteMachine, settings=SETTINGS)


@pytest.mark.postgres
@pytest.mark.rule("L11", "L12")
def test_the_postgres_store_always_equals_the_model(pg_database: str) -> None:
    """PostgreSQL vs the in-memory model, through saves, stale saves and reconnects."""

    class PostgresMachine(StoreMachine):
        def __init__(self) -> None:
            self.schema = f"sm_{id(self):x}"
            with psycopg.connect(pg_database, autocommit=True) as db:
                db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            dsn = make_conninfo(pg_database, options=f"-c search_path={self.schema}")
            self.open_store = lambda: PostgresWorkOrders(dsn, migrate=True)
            super().__init__()

        def teardown(self) -> None:
            super().teardown()
            with psycopg.connect(pg_database, autocommit=True) as db:
                db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))

    run_state_machine_as_test(PostgresMachine, settings=SETTINGS)
