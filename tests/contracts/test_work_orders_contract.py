"""The contract kit (komtet_works.testing) run on every store the library ships."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from komtet_works.adapters.memory import InMemoryWorkOrders
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.testing import DurableStoreContract, OutboxContract, WorkOrdersContract


@pytest.mark.rule("L11", "L12")
class TestInMemoryWorkOrders(WorkOrdersContract, OutboxContract):
    @pytest.fixture
    def orders(self) -> InMemoryWorkOrders:
        return InMemoryWorkOrders()


@pytest.mark.rule("L11", "L12")
class TestSqliteWorkOrders(DurableStoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> Iterator[Callable[[], SqliteWorkOrders]]:
        opened: list[SqliteWorkOrders] = []

        def open_store() -> SqliteWorkOrders:
            opened.append(SqliteWorkOrders(tmp_path / "orders.sqlite", migrate=True))
            return opened[-1]

        yield open_store
        for store in opened:
            store.close()


@pytest.mark.postgres
@pytest.mark.rule("L11", "L12")
class TestPostgresWorkOrders(DurableStoreContract):
    @pytest.fixture
    def open_store(self, pg_dsn: str) -> Iterator[Callable[[], PostgresWorkOrders]]:
        opened: list[PostgresWorkOrders] = []

        def open_store() -> PostgresWorkOrders:
            opened.append(PostgresWorkOrders(pg_dsn, migrate=True))
            return opened[-1]

        yield open_store
        for store in opened:
            store.close()
