"""The CustomerDirectory contract (komtet_works.testing) run on every directory shipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from komtet_works.adapters import InMemoryCustomerDirectory, SqliteCustomerDirectory
from komtet_works.adapters.postgres import PostgresCustomerDirectory
from komtet_works.testing import CustomerDirectoryContract


@pytest.mark.rule("E1")
class TestInMemoryCustomerDirectory(CustomerDirectoryContract[InMemoryCustomerDirectory]):
    @pytest.fixture
    def customers(self) -> InMemoryCustomerDirectory:
        return InMemoryCustomerDirectory()


@pytest.mark.rule("E1")
class TestSqliteCustomerDirectory(CustomerDirectoryContract[SqliteCustomerDirectory]):
    @pytest.fixture
    def customers(self, tmp_path: Path) -> Iterator[SqliteCustomerDirectory]:
        with SqliteCustomerDirectory(tmp_path / "customers.sqlite", migrate=True) as customers:
            yield customers


@pytest.mark.postgres
@pytest.mark.rule("E1")
class TestPostgresCustomerDirectory(CustomerDirectoryContract[PostgresCustomerDirectory]):
    @pytest.fixture
    def customers(self, pg_dsn: str) -> Iterator[PostgresCustomerDirectory]:
        with PostgresCustomerDirectory(pg_dsn, migrate=True) as customers:
            yield customers
