"""Storage benchmark: persist orders through the stores, against a raw executemany baseline.

    python benchmarks/storage.py [ORDERS] [--single ORDERS] [--repeat RUNS] [--no-postgres]

Issue 4's benchmark: 100,000 orders by default (give ORDERS to run fewer).  For SQLite (a
file, WAL, synchronous=FULL) and PostgreSQL (a throwaway database on KOMTET_WORKS_PG_DSN,
default the local server), prints orders/s for:

- raw: the same rows (order rows and event rows, JSON already encoded) inserted with two
  ``executemany`` calls in one transaction, on the same schema: the floor;
- batched: ``save_many`` in batches of 1,000 orders, one transaction each;
- single: ``save`` one order per transaction, as one use case does (on the first
  ``--single`` orders, as each commit waits for the disk).

Each order is a paid order with its three events.  Each figure is the best of ``--repeat``
runs (default 3), each on a fresh database, the runs of raw, batched and single taking
turns: a machine busy with something else for a moment then does not decide the ratio.
The design target of issue 4 is batched within 2x of raw.  Nothing here asserts: speed is
reported, not tested.
"""

from __future__ import annotations

import argparse
import math
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
from komtet_works.adapters.sql.dialect import micros
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import in_state

ORDERS = 100_000
BATCH = 1_000
_T = TypeVar("_T")
PG_DSN = os.environ.get("KOMTET_WORKS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]
#: One run of a measurement: given the run's number, the seconds it took.
Run = Callable[[int], float]


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


def _batches(orders: Sequence[WorkOrder]) -> list[list[tuple[WorkOrder, int]]]:
    return [
        [(order, 0) for order in orders[start : start + BATCH]]
        for start in range(0, len(orders), BATCH)
    ]


def _best(runs: dict[str, Run], repeat: int) -> dict[str, float]:
    """The shortest time of each of `runs` over `repeat` rounds, the runs taking turns."""
    best = dict.fromkeys(runs, math.inf)
    for number in range(repeat):
        for name, run in runs.items():
            best[name] = min(best[name], run(number))
    return best


def _report(best: dict[str, float], counts: dict[str, int]) -> None:
    raw_rate = counts["raw"] / best["raw"]
    for name, seconds in best.items():
        rate = counts[name] / seconds
        print(
            f"  {name:<8} {counts[name]:>8} orders {seconds:8.2f} s {rate:>10,.0f} orders/s"
            f"   raw/this = {raw_rate / rate:5.2f}x"
        )


@contextmanager
def _sqlite_file(path: Path) -> Iterator[Path]:
    """`path` for one run; the database and its WAL are deleted after it."""
    try:
        yield path
    finally:
        for leftover in (
            path,
            path.with_name(f"{path.name}-wal"),
            path.with_name(f"{path.name}-shm"),
        ):
            leftover.unlink(missing_ok=True)


def bench_sqlite(orders: Sequence[WorkOrder], single: int, repeat: int, directory: Path) -> None:
    print(f"SQLite (WAL, synchronous=FULL) in {directory}, best of {repeat}")
    order_rows, event_rows = _rows(orders, sqlite=True)
    batches = _batches(orders)

    def raw(number: int) -> float:
        with _sqlite_file(directory / f"raw-{number}.sqlite") as path:
            SqliteWorkOrders(path, migrate=True).close()  # the schema, and WAL mode

            def insert() -> None:
                with closing(sqlite3.connect(path, isolation_level=None)) as db:
                    db.execute("PRAGMA synchronous = FULL")
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany(
                        "INSERT INTO work_orders (id, customer_id, state, version,"
                        " claim_deadline, due, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        order_rows,
                    )
                    db.executemany(
                        "INSERT INTO work_order_events (order_id, seq, type, at, actor_kind,"
                        " actor_id, before, after, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        event_rows,
                    )
                    db.execute("COMMIT")

            return _timed(insert)

    def batched(number: int) -> float:
        with (
            _sqlite_file(directory / f"batched-{number}.sqlite") as path,
            SqliteWorkOrders(path, migrate=True) as store,
        ):
            return _timed(_each(store.save_many, batches))

    def one_by_one(number: int) -> float:
        with (
            _sqlite_file(directory / f"single-{number}.sqlite") as path,
            SqliteWorkOrders(path, migrate=True) as store,
        ):
            return _timed(_each(lambda o: store.save(o, expected_version=0), orders[:single]))

    best = _best({"raw": raw, "batched": batched, "single": one_by_one}, repeat)
    _report(best, {"raw": len(orders), "batched": len(orders), "single": single})


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


@contextmanager
def _schema(dsn: str, name: str) -> Iterator[str]:
    """A DSN whose tables live in a new schema `name`, dropped after the run."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(dsn, options=f"-c search_path={name}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def bench_postgres(orders: Sequence[WorkOrder], single: int, repeat: int) -> None:
    print(f"PostgreSQL at {PG_DSN} (a throwaway database), best of {repeat}")
    order_rows, event_rows = _rows(orders, sqlite=False)
    batches = _batches(orders)
    with _throwaway_database() as dsn:

        def raw(number: int) -> float:
            with _schema(dsn, f"raw_{number}") as raw_dsn:
                PostgresWorkOrders(raw_dsn, migrate=True).close()

                def insert() -> None:
                    with psycopg.connect(raw_dsn) as db, db.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO work_orders (id, customer_id, state, version,"
                            " claim_deadline, due, updated_at)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            order_rows,
                        )
                        cursor.executemany(
                            "INSERT INTO work_order_events (order_id, seq, type, at, actor_kind,"
                            " actor_id, before, after, payload)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json)",
                            event_rows,
                        )

                return _timed(insert)

        def batched(number: int) -> float:
            with (
                _schema(dsn, f"batched_{number}") as store_dsn,
                PostgresWorkOrders(store_dsn, migrate=True) as store,
            ):
                return _timed(_each(store.save_many, batches))

        def one_by_one(number: int) -> float:
            with (
                _schema(dsn, f"single_{number}") as store_dsn,
                PostgresWorkOrders(store_dsn, migrate=True) as store,
            ):
                save = _each(lambda o: store.save(o, expected_version=0), orders[:single])
                return _timed(save)

        best = _best({"raw": raw, "batched": batched, "single": one_by_one}, repeat)
        _report(best, {"raw": len(orders), "batched": len(orders), "single": single})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("orders", nargs="?", type=int, default=ORDERS)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    arguments = parser.parse_args()
    orders = _orders(arguments.orders)
    single = min(arguments.single, arguments.orders)
    repeat = max(arguments.repeat, 1)
    with tempfile.TemporaryDirectory() as directory:
        bench_sqlite(orders, single, repeat, Path(directory))
    if not arguments.no_postgres:
        bench_postgres(orders, single, repeat)


if __name__ == "__main__":
    main()
