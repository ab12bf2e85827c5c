"""The Billing contract (komtet_works.testing) run on every billing adapter the library ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from komtet_works.adapters import InMemoryBilling, SqliteBilling
from komtet_works.adapters.postgres import PostgresBilling
from komtet_works.testing import BillingContract


@pytest.mark.rule("I4")
class TestInMemoryBilling(BillingContract):
    @pytest.fixture
    def billing(self) -> InMemoryBilling:
        return InMemoryBilling()


@pytest.mark.rule("I4")
class TestSqliteBilling(BillingContract):
    @pytest.fixture
    def billing(self, tmp_path: Path) -> Iterator[SqliteBilling]:
        with SqliteBilling(tmp_path / "billing.sqlite", migrate=True) as billing:
            yield billing


@pytest.mark.postgres
@pytest.mark.rule("I4")
class TestPostgresBilling(BillingContract):
    @pytest.fixture
    def billing(self, pg_dsn: str) -> Iterator[PostgresBilling]:
        with PostgresBilling(pg_dsn, migrate=True) as billing:
            yield billing
