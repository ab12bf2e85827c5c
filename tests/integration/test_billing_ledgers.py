"""The billing ledgers in a real database: invoices and refunds, once per idempotency key."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import BillingFailed, InvalidInput, Money
from komtet_works.adapters import SqliteBilling, SqliteWorkOrders
from komtet_works.adapters.postgres import PostgresBilling
from komtet_works.adapters.sql.migrations import migrations
from komtet_works.adapters.sqlite import SqliteDatabase
from komtet_works.ports.billing import Invoice, RefundReceipt

Ledger = SqliteBilling | PostgresBilling
Opener = Callable[[], Ledger]


@pytest.fixture(
    name="open_ledger",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fixture_open_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a ledger on one new database each time it is called; all closed after the test."""
    opened: list[Ledger] = []
    if request.param == "sqlite":
        path = tmp_path / "billing.sqlite"

        def open_ledger() -> Ledger:
            opened.append(SqliteBilling(path, migrate=True))
            return opened[-1]
    else:
        dsn: str = request.getfixturevalue("pg_dsn")

        def open_ledger() -> Ledger:
            opened.append(PostgresBilling(dsn, migrate=True))
            return opened[-1]

    yield open_ledger
    for ledger in opened:
        ledger.close()


@pytest.fixture(name="ledger")
def fixture_ledger(open_ledger: Opener) -> Ledger:
    return open_ledger()


@pytest.mark.rule("I4")
def test_a_refund_asked_twice_with_one_key_refunds_once(ledger: Ledger) -> None:
    """The second ask with the same key returns the first receipt and pays nothing more."""
    amount = Money.of("1400.00")
    first = ledger.refund(payment_id="p-1", amount=amount, idempotency_key="o-1:refund:p-1")
    again = ledger.refund(payment_id="p-1", amount=amount, idempotency_key="o-1:refund:p-1")
    assert first == again
    assert [RefundReceipt(first, "p-1", amount)] == list(ledger.refunds())


@pytest.mark.rule("I4", "H2")
def test_a_payment_is_refunded_in_parts_never_beyond_it(ledger: Ledger) -> None:
    """Refunds of a payment the ledger holds add up to at most it: the unused hours, then
    the rest; a kopeck more is refused and pays nothing.  A retry of a part still answers."""
    ledger.receive(payment_id="p-1", order_id="o-1", amount=Money.of("1400.00"))
    part = ledger.refund(payment_id="p-1", amount=Money.of("400.00"), idempotency_key="part")
    ledger.refund(payment_id="p-1", amount=Money.of("1000.00"), idempotency_key="rest")
    with pytest.raises(BillingFailed):
        ledger.refund(payment_id="p-1", amount=Money.of("0.01"), idempotency_key="more")
    with pytest.raises(BillingFailed):
        ledger.refund(payment_id="p-1", amount=Money.of("1.00", "EUR"), idempotency_key="eur")
    assert part == ledger.refund(
        payment_id="p-1", amount=Money.of("400.00"), idempotency_key="part"
    )
    assert [Money.of("400.00"), Money.of("1000.00")] == [r.amount for r in ledger.refunds()]


def test_refunds_under_different_keys_get_different_receipts(ledger: Ledger) -> None:
    """Two keys, two refunds, two receipts, kept oldest first."""
    one = ledger.refund(payment_id="p-1", amount=Money.of("10.00"), idempotency_key="k-1")
    two = ledger.refund(payment_id="p-2", amount=Money.of("20.50"), idempotency_key="k-2")
    assert [("p-1", Money.of("10.00")), ("p-2", Money.of("20.50"))] == [
        (r.payment_id, r.amount) for r in ledger.refunds()
    ]
    assert [one, two] == [r.reference for r in ledger.refunds()]
    assert one != two


def test_a_refund_key_reused_for_another_amount_is_refused_and_changes_nothing(
    ledger: Ledger,
) -> None:
    """One key, a different amount: billing_failed, and the ledger keeps the first refund."""
    ledger.refund(payment_id="p-1", amount=Money.of("10.00"), idempotency_key="k")
    with pytest.raises(BillingFailed, match="used before"):
        ledger.refund(payment_id="p-1", amount=Money.of("11.00"), idempotency_key="k")
    assert [Money.of("10.00")] == [r.amount for r in ledger.refunds()]


def test_an_invoice_asked_twice_with_one_key_is_one_invoice(ledger: Ledger) -> None:
    """request_payment is idempotent per key, as the Billing port requires."""
    amount = Money.of("1000.00")
    first = ledger.request_payment(order_id="o-1", amount=amount, idempotency_key="o-1:invoice:2")
    again = ledger.request_payment(order_id="o-1", amount=amount, idempotency_key="o-1:invoice:2")
    assert [Invoice(first, "o-1", amount)] == list(ledger.invoices())
    assert first == again


def test_a_refund_survives_reopening_and_is_still_refunded_once(open_ledger: Opener) -> None:
    """A receipt given before a restart is the one a retry after it gets."""
    before = open_ledger().refund(payment_id="p", amount=Money.of("5.00"), idempotency_key="k")
    reopened = open_ledger()
    assert before == reopened.refund(payment_id="p", amount=Money.of("5.00"), idempotency_key="k")
    assert 1 == len(reopened.refunds())


def test_two_connections_asking_one_refund_share_one_receipt(open_ledger: Opener) -> None:
    """Two workers on the same database, one key: one row, one receipt for both."""
    first, second = open_ledger(), open_ledger()
    amount = Money.of("7.00")
    assert first.refund(payment_id="p", amount=amount, idempotency_key="k") == second.refund(
        payment_id="p", amount=amount, idempotency_key="k"
    )
    assert 1 == len(first.refunds())


@pytest.mark.rule("M1", "M2")
@given(cents=st.integers(min_value=1, max_value=10**12), currency=st.sampled_from(["RUB", "USD"]))
def test_amounts_come_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, cents: int, currency: str
) -> None:
    """Any amount in kopecks or cents is read back as exactly the Money asked for."""
    amount = Money.of(f"{cents // 100}.{cents % 100:02d}", currency)
    with SqliteBilling(tmp_path_factory.getbasetemp() / "amounts.sqlite", migrate=True) as ledger:
        receipt = ledger.refund(payment_id="p", amount=amount, idempotency_key=str(amount))
        assert [amount] == [r.amount for r in ledger.refunds() if r.reference == receipt]


def test_an_idempotency_key_that_is_not_unicode_is_refused(ledger: Ledger) -> None:
    """A lone surrogate cannot be stored exactly: invalid_input, nothing kept."""
    with pytest.raises(InvalidInput):
        ledger.refund(payment_id="p", amount=Money.of("1.00"), idempotency_key="k\udc80")
    assert [] == list(ledger.refunds())


def test_a_database_from_before_the_ledger_gains_it_when_migrated(tmp_path: Path) -> None:
    """A file at schema version 1 (work orders only) gains the ledger on migrate=True."""
    path = tmp_path / "old.sqlite"
    first = migrations("sqlite")[0]
    with closing(sqlite3.connect(path)) as db:
        db.executescript(first.script)
        db.execute(SqliteDatabase.sql.create_schema_version)
        db.execute(
            SqliteDatabase.sql.insert_schema_version,
            (first.version, first.name, "2026-01-01T00:00:00+00:00"),
        )
        db.commit()
    with SqliteBilling(path, migrate=True) as ledger:
        receipt = ledger.refund(payment_id="p", amount=Money.of("1.00"), idempotency_key="k")
        assert [receipt] == [r.reference for r in ledger.refunds()]
    with SqliteWorkOrders(path, migrate=True) as store:
        assert migrations("sqlite")[-1].version == store.schema_version()
