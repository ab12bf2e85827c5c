"""Storage benchmark: persist orders through the stores, against a raw executemany baseline.

    python benchmarks/storage.py [ORDERS] [--single ORDERS] [--no-postgres]

For SQLite (a file, WAL, synchronous=FULL) and PostgreSQL (a throwaway database on
KOMTET_WORKS_PG_DSN, default the local server), prints orders/s for:

- raw: the same rows (order rows and event rows, JSON already encoded) inserted with two
  ``executemany`` calls in one transaction, on the same schema: the floor;
- batched: ``save_many`` in batches of 1,000 orders, one transaction each;
- single: ``save`` one order per transaction (on the first ``--single`` orders, as each
  commit waits for the disk).

Each order is a paid order with its three events.  The design target of issue 4 is
batched within 2x of raw.  Nothing here asserts: speed is reported, not tested.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from komtet_works.adapters.codec import dumps_event
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders, micros
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import in_state

BATCH = 1_000
_T = TypeVar("_T")
PG_DSN = os.environ.get("KOMTET_WORKS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]


def _orders(count: int) -> list[WorkOrder]:
    return [in_state(State.PAID, f"bench-{n}") for n in range(count)]


def _rows(orders: Sequence[WorkOrder], *, sqlite: bool) -> Rows:
    """The rows a store writes for `orders`, computed before the clock starts."""
    order_rows: list[tuple[object, ...]] = []
    event_rows: list[tuple[object, ...]] = []
    for order in orders:
        last = order.events[-1].at
        works = order.works
        order_rows.append(
            (
                order.id,
                order.customer_id,
                order.state.value,
                order.version,
                micros(works.claim_deadline) if sqlite else works.claim_deadline,
                micros(works.due) if sqlite else works.due,
                last.isoformat() if sqlite else last,
            )
        )
        event_rows.extend(
            (
                order.id,
                seq,
                type(event).__name__,
                event.at.isoformat() if sqlite else event.at,
                event.actor.kind.value,
                event.actor.id,
                None if event.before is None else event.before.value,
                event.after.value,
                dumps_event(event),
            )
            for seq, event in enumerate(order.events, start=1)
        )
    return order_rows, event_rows


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _each(save: Callable[[_T], None], items: Sequence[_T]) -> Callable[[], None]:
    def run() -> None:
        for item in items:
            save(item)

    return run


def _batches(orders: Sequence[WorkOrder]) -> Iterator[list[tuple[WorkOrder, int]]]:
    for start in range(0, len(orders), BATCH):
        yield [(order, 0) for order in orders[start : start + BATCH]]


def _report(name: str, count: int, seconds: float, raw_rate: float) -> None:
    rate = count / seconds
    print(
        f"  {name:<8} {count:>8} orders {seconds:8.2f} s {rate:>10,.0f} orders/s"
        f"   raw/this = {raw_rate / rate:5.2f}x"
    )


def bench_sqlite(orders: Sequence[WorkOrder], single: int, directory: Path) -> None:
    print(f"SQLite (WAL, synchronous=FULL) in {directory}")
    order_rows, event_rows = _rows(orders, sqlite=True)

    SqliteWorkOrders(directory / "raw.sqlite").close()  # the schema, and WAL mode

    def raw() -> None:
        with closing(sqlite3.connect(directory / "raw.sqlite", isolation_level=None)) as db:
            db.execute("PRAGMA synchronous = FULL")
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO work_orders (id, customer_id, state, version, claim_deadline, due,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                order_rows,
            )
            db.executemany(
                "INSERT INTO work_order_events (order_id, seq, type, at, actor_kind, actor_id,"
                " before, after, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                event_rows,
            )
            db.execute("COMMIT")

    raw_rate = len(orders) / _timed(raw)
    _report("raw", len(orders), len(orders) / raw_rate, raw_rate)
    with SqliteWorkOrders(directory / "batched.sqlite") as store:
        seconds = _timed(_each(store.save_many, list(_batches(orders))))
    _report("batched", len(orders), seconds, raw_rate)
    with SqliteWorkOrders(directory / "single.sqlite") as store:
        seconds = _timed(_each(lambda o: store.save(o, expected_version=0), orders[:single]))
    _report("single", single, seconds, raw_rate)


@contextmanager
def _throwaway_database() -> Iterator[str]:
    name = f"komtet_bench_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(PG_DSN, dbname=name)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _schema(dsn: str, name: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return make_conninfo(dsn, options=f"-c search_path={name}")


def bench_postgres(orders: Sequence[WorkOrder], single: int) -> None:
    print(f"PostgreSQL at {PG_DSN} (a throwaway database)")
    order_rows, event_rows = _rows(orders, sqlite=False)
    with _throwaway_database() as dsn:
        raw_dsn = _schema(dsn, "raw")
        PostgresWorkOrders(raw_dsn).close()

        def raw() -> None:
            with psycopg.connect(raw_dsn) as db, db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO work_orders (id, customer_id, state, version, claim_deadline,"
                    " due, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    order_rows,
                )
                cursor.executemany(
                    "INSERT INTO work_order_events (order_id, seq, type, at, actor_kind,"
                    " actor_id, before, after, payload)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json)",
                    event_rows,
                )

        raw_rate = len(orders) / _timed(raw)
        _report("raw", len(orders), len(orders) / raw_rate, raw_rate)
        with PostgresWorkOrders(_schema(dsn, "batched")) as store:
            seconds = _timed(_each(store.save_many, list(_batches(orders))))
        _report("batched", len(orders), seconds, raw_rate)
        with PostgresWorkOrders(_schema(dsn, "single")) as store:
            seconds = _timed(_each(lambda o: store.save(o, expected_version=0), orders[:single]))
        _report("single", single, seconds, raw_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("orders", nargs="?", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--no-postgres", action="store_true")
    arguments = parser.parse_args()
    orders = _orders(arguments.orders)
    single = min(arguments.single, arguments.orders)
    with tempfile.TemporaryDirectory() as directory:
        bench_sqlite(orders, single, Path(directory))
    if not arguments.no_postgres:
        bench_postgres(orders, single)


if __name__ == "__main__":
    main()
