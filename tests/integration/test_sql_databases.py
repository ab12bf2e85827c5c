"""How the SQL stores open: migrating only when asked, on the host's connection, pool or schema,
and the drivers' errors as the library's."""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from komtet_works import bootstrap
from komtet_works.adapters.codec import ORDER_FORMAT
from komtet_works.adapters.postgres import PostgresBilling, PostgresWorkOrders
from komtet_works.adapters.sql import stores
from komtet_works.adapters.sql.migrations import migrations, pending
from komtet_works.adapters.sql.rows import EventRow, event_rows
from komtet_works.adapters.sql.statements import TABLES
from komtet_works.adapters.sql.stores import Cursor
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.errors import (
    ConcurrencyError,
    ConstraintViolated,
    DatabaseUnavailable,
    InvalidInput,
    SchemaNotMigrated,
    TargetBusy,
)
from komtet_works.domain.lifecycle import Action, State
from komtet_works.domain.money import Money
from komtet_works.testing.orders import in_state, requested, take, walk

LATEST = migrations("sqlite")[-1].version


def test_opening_a_sqlite_file_creates_no_table(tmp_path: Path) -> None:
    """Without migrate=True the file stays empty, and using it says it is not migrated."""
    path = tmp_path / "orders.sqlite"
    with SqliteWorkOrders(path) as store, pytest.raises(SchemaNotMigrated) as raised:
        store.get("wo-1")
    assert "schema_not_migrated" == raised.value.code
    with closing(sqlite3.connect(path)) as db:
        assert [] == db.execute("SELECT name FROM sqlite_master").fetchall()


def test_migrate_brings_a_sqlite_file_to_the_latest_version(tmp_path: Path) -> None:
    """migrate() applies every migration once; calling it again changes nothing."""
    with SqliteWorkOrders(tmp_path / "orders.sqlite") as store:
        store.migrate()
        store.migrate()
        assert LATEST == store.schema_version()


def test_a_sqlite_file_that_cannot_be_opened_is_database_unavailable(tmp_path: Path) -> None:
    """A path in a missing directory: DatabaseUnavailable, with a stable code."""
    with pytest.raises(DatabaseUnavailable) as raised:
        SqliteWorkOrders(tmp_path / "no" / "such" / "orders.sqlite")
    assert "database_unavailable" == raised.value.code


def test_a_file_that_is_not_a_database_is_database_unavailable(tmp_path: Path) -> None:
    """Garbage in the file: DatabaseUnavailable when the store first touches it."""
    path = tmp_path / "orders.sqlite"
    path.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(DatabaseUnavailable):
        SqliteWorkOrders(path, migrate=True)


def test_a_sqlite_constraint_is_constraint_violated(tmp_path: Path) -> None:
    """A row the schema refuses (the append-only log) arrives as ConstraintViolated."""
    path = tmp_path / "orders.sqlite"
    with SqliteWorkOrders(path, migrate=True) as store:
        store.save(requested("wo-1"), expected_version=0)
        database = store._database
        with pytest.raises(ConstraintViolated) as raised:
            database.write(lambda cursor: cursor.execute("DELETE FROM work_order_events"))
        assert (False, "constraint_violated") == (raised.value.duplicate, raised.value.code)
        assert [requested("wo-1")] == list(store.by_customer("cust-1"))


def test_a_second_save_of_a_new_order_is_a_concurrency_error(tmp_path: Path) -> None:
    """The duplicate key of a concurrent first save is ConcurrencyError, not a driver error."""
    with SqliteWorkOrders(tmp_path / "orders.sqlite", migrate=True) as store:
        store.save(requested("wo-1"), expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.save(requested("wo-1"), expected_version=0)


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_opening_postgres_creates_no_table(pg_dsn: str) -> None:
    """Without migrate=True nothing is created; using the store says it is not migrated."""
    with PostgresWorkOrders(pg_dsn) as store, pytest.raises(SchemaNotMigrated):
        store.get("wo-1")
    with psycopg.connect(pg_dsn) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    assert [] == tables


@pytest.mark.postgres
def test_a_schema_name_keeps_the_tables_there(pg_database: str) -> None:
    """schema= puts every table in that schema, created by migrate(), quoted as an identifier."""
    schema = f'Host "works" {secrets.token_hex(3)}'
    with PostgresWorkOrders(pg_database, schema=schema, migrate=True) as store:
        store.save(requested("wo-1"), expected_version=0)
        assert [requested("wo-1")] == list(store.by_customer("cust-1"))
        assert LATEST == store.schema_version()
    with psycopg.connect(pg_database) as db:
        kept = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchone()
        public = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert (len(TABLES), 0) == (kept[0] if kept else None, public[0] if public else None)


@pytest.mark.postgres
@pytest.mark.parametrize("schema", ["", "100%", "nul\x00"])
def test_a_schema_name_that_cannot_be_one_is_invalid_input(pg_dsn: str, schema: str) -> None:
    """Empty, a % (a parameter marker to psycopg) or NUL: refused before connecting."""
    with pytest.raises(InvalidInput):
        PostgresWorkOrders(pg_dsn, schema=schema)


@pytest.mark.postgres
def test_on_the_hosts_connection_a_store_joins_the_hosts_transaction(pg_dsn: str) -> None:
    """A save in the host's transaction is rolled back with it; closing keeps the connection."""

    class HostGaveUp(Exception):
        pass

    def save_then_give_up(host: psycopg.Connection[tuple[object, ...]]) -> None:
        with host.transaction():
            store.save(requested("wo-lost"), expected_version=0)
            raise HostGaveUp

    with psycopg.connect(pg_dsn) as host:
        store = PostgresWorkOrders(host, migrate=True)
        host.commit()
        with host.transaction():
            store.save(requested("wo-kept"), expected_version=0)
        with pytest.raises(HostGaveUp):
            save_then_give_up(host)
        store.close()
        assert not host.closed
        assert ["wo-kept"] == [o.id for o in store.by_customer("cust-1")]


@pytest.mark.postgres
def test_on_a_pool_each_transaction_takes_a_connection(pg_dsn: str) -> None:
    """A psycopg_pool pool: the ledger and the orders share it and find each other's rows."""
    with ConnectionPool(pg_dsn, min_size=1, max_size=2, open=True) as pool:
        orders = PostgresWorkOrders(pool, migrate=True)
        ledger = PostgresBilling(pool)
        orders.save(requested("wo-1"), expected_version=0)
        receipt = ledger.refund(payment_id="p", amount=Money.of("1.00"), idempotency_key="k")
        assert ["wo-1"] == [o.id for o in orders.by_customer("cust-1")]
        assert [receipt] == [r.reference for r in ledger.refunds()]
        orders.close()
        assert not pool.closed


@pytest.mark.postgres
def test_an_unreachable_server_is_database_unavailable() -> None:
    """Nobody listening on the port: DatabaseUnavailable in one line, no driver error."""
    with pytest.raises(DatabaseUnavailable) as raised:
        PostgresWorkOrders("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2")
    assert "\n" not in str(raised.value)


@pytest.mark.postgres
def test_a_postgres_constraint_is_constraint_violated(pg_dsn: str) -> None:
    """The append-only trigger's refusal, and a duplicate key, arrive as the library's errors."""
    with PostgresWorkOrders(pg_dsn, migrate=True) as store:
        store.save(requested("wo-1"), expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.save(requested("wo-1"), expected_version=0)
        with pytest.raises(ConstraintViolated) as raised:
            store._database.write(
                lambda cursor: cursor.execute("INSERT INTO customers (id) VALUES (NULL)")
            )
        assert not raised.value.duplicate


@pytest.mark.postgres
def test_a_libpq_keyword_dsn_opens_postgresql_not_a_file_of_that_name(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``host=... dbname=...`` is a PostgreSQL DSN: no SQLite file is made of it."""
    monkeypatch.chdir(tmp_path)
    assert "=" in pg_dsn
    with bootstrap.on_database(pg_dsn, migrate=True) as wiring:
        assert isinstance(wiring.orders, PostgresWorkOrders)
    assert [] == list(tmp_path.iterdir())


def _before_0005(
    store: SqliteWorkOrders | PostgresWorkOrders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrate `store` to the version before 0005 and keep, as code of that time did,
    one order in works and one requested (no target columns yet)."""
    monkeypatch.setattr(stores, "pending", lambda d, a: [m for m in pending(d, a) if m.version < 5])
    store.migrate()
    monkeypatch.setattr(stores, "pending", pending)
    database = store._database
    marker = database.dialect.placeholder
    old_insert = (
        "INSERT INTO work_orders (id, customer_id, state, version, updated_at)"
        " VALUES (?, ?, ?, ?, ?)"
    ).replace("?", marker)
    for order in (in_state(State.IN_PROGRESS, "wo-old"), requested("wo-new")):
        rows = event_rows(order, 0)
        order_row = (order.id, order.customer_id, order.state.value, order.version, rows[-1][3])

        def write(
            cursor: Cursor, order_row: tuple[object, ...] = order_row, rows: list[EventRow] = rows
        ) -> None:
            cursor.execute(old_insert, order_row)
            cursor.executemany(database.sql.insert_event, rows)

        database.write(write)


@pytest.mark.rule("T1")
@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migration_0005_gives_existing_orders_their_target_and_guards_it(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders saved before 0005 get their target from their first event; the order already
    in works then keeps its target busy."""
    store = (
        SqliteWorkOrders(tmp_path / "orders.sqlite")
        if dialect == "sqlite"
        else PostgresWorkOrders(request.getfixturevalue("pg_dsn"))
    )
    with store:
        _before_0005(store, monkeypatch)
        store.migrate()
        assert LATEST == store.schema_version()
        old = store.get("wo-old")
        assert ["wo-old", "wo-new"] == [o.id for o in store.on_target(old.target)]
        scheduled = walk(store.get("wo-new"), State.SCHEDULED)
        store.save(scheduled, expected_version=1)
        started = take(scheduled, Action.START, scheduled.last_step_at + timedelta(hours=1))
        with pytest.raises(TargetBusy):
            store.save(started, expected_version=scheduled.version)


@pytest.mark.rule("L4")
@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migration_0006_gives_orders_queued_before_it_their_hours(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders saved before 0006 join the queue with their latest estimate's billable hours;
    orders not queued stay out of it."""
    store = (
        SqliteWorkOrders(tmp_path / "orders.sqlite")
        if dialect == "sqlite"
        else PostgresWorkOrders(request.getfixturevalue("pg_dsn"))
    )
    with store:
        monkeypatch.setattr(
            stores, "pending", lambda d, a: [m for m in pending(d, a) if m.version < 6]
        )
        store.migrate()
        monkeypatch.setattr(stores, "pending", pending)
        database = store._database
        # the order row as stores wrote it before migration 0007 added the state snapshot
        insert = database.sql.insert_order.replace(", snapshot, snapshot_format)", ")")
        before_0007 = insert.rsplit(",", 2)[0] + ")"
        paid, done = in_state(State.PAID, "wo-paid"), in_state(State.COMPLETED, "wo-done")
        for order in (paid, done):
            rows = event_rows(order, 0)
            works = order.works
            row = (
                order.id,
                order.customer_id,
                order.target.kind.value,
                order.target.name,
                order.state.value,
                order.version,
                database.dialect.instant(works.claim_deadline),
                database.dialect.instant(works.due),
                rows[-1][3],
            )

            def write(
                cursor: Cursor, row: tuple[object, ...] = row, rows: list[EventRow] = rows
            ) -> None:
                cursor.execute(before_0007, row)
                cursor.executemany(database.sql.insert_event, rows)

            database.write(write)
        store.migrate()
        assert LATEST == store.schema_version()
        quote = paid.ledger.current_quote
        assert quote is not None
        assert quote.billable_hours == store.queued_hours(excluding="")
        assert 0 == store.queued_hours(excluding="wo-paid")


@pytest.mark.rule("L11")
@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_an_order_with_no_snapshot_in_this_format_is_replayed_until_saved_again(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Migration 0007's lazy fill: an order saved before it (no snapshot) or in another
    format of the state loads from its history, exactly; its next save writes the state."""
    store = (
        SqliteWorkOrders(tmp_path / "orders.sqlite", migrate=True)
        if dialect == "sqlite"
        else PostgresWorkOrders(request.getfixturevalue("pg_dsn"), migrate=True)
    )
    database = store._database
    with store:
        order = in_state(State.COMPLETED, "wo-old")
        store.save(order, expected_version=0)
        database.write(
            lambda cursor: cursor.execute(
                "UPDATE work_orders SET snapshot = NULL, snapshot_format = NULL"
            )
        )
        assert order == store.get("wo-old")
        assert [order] == list(store.by_state(State.COMPLETED))
        assert [] == list(store.verify_replay("wo-old"))
        changed = take(store.get("wo-old"), Action.CUSTOMER_CHANGE, order.last_step_at)
        store.save(changed, expected_version=order.version)
        formats = database.read(
            lambda cursor: cursor.execute("SELECT snapshot_format FROM work_orders").fetchall()
        )
        assert [(ORDER_FORMAT,)] == formats
        database.write(
            lambda cursor: cursor.execute(
                "UPDATE work_orders SET snapshot = '{}', snapshot_format = 'older'"
            )
        )
        assert changed == store.get("wo-old")
