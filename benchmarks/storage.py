"""Storage benchmark: persist orders through the stores, against a raw executemany baseline.

    python benchmarks/storage.py [--orders N] [--single N] [--no-postgres] [--rounds N]
                                 [--smoke] [--json PATH]

Issue 4's benchmark: 20,000 orders a round by default.  For SQLite (a file, WAL,
synchronous=FULL) and PostgreSQL (a throwaway database on KOMTET_WORKS_PG_DSN, default
the local server), the time per order of:

- raw: the same rows (order rows and event rows, JSON already encoded) inserted with two
  ``executemany`` calls in one transaction, on the same schema: the floor;
- batched: ``save_many`` in batches of 1,000 orders, one transaction each;
- single: ``save`` one order per transaction, as one use case does (on the first
  ``--single`` orders, as each commit waits for the disk).

Each order is a paid order with its three events.  Each round writes into a fresh
database, the runs taking turns (`harness`); the figure is the median per order.  The
design target of issue 4 is batched within 2x of raw.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from harness import Batch, Bench, options, throwaway_database
from komtet_works.adapters.codec import ORDER_FORMAT, dumps_event, dumps_order
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sql.dialect import micros
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import in_state

ORDERS = 20_000
BATCH = 1_000
_T = TypeVar("_T")

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
        last = order.last_step_at
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
                dumps_order(order),
                ORDER_FORMAT,
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
            for seq, event in enumerate(order.new_events, start=1)
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


def _per_order(run: Run, orders: int) -> Batch:
    """A batch of `run`s, each on a fresh database (numbered), in seconds per order."""
    runs = iter(range(1_000_000))

    def batch(number: int) -> float:
        return sum(run(next(runs)) for _ in range(number)) / orders

    return batch


def _compare(bench: Bench, where: str, runs: Mapping[str, Run], counts: Mapping[str, int]) -> None:
    raw = _per_order(runs["raw"], counts["raw"])
    for name, text in (("batched", "save_many, 1,000 a batch"), ("single", "save, one a commit")):
        bench.compare(
            f"{where}: {text}, per order",
            _per_order(runs[name], counts[name]),
            raw,
            baseline_name="raw executemany",
            goal="<= 2x" if name == "batched" else "reported",
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


def bench_sqlite(bench: Bench, orders: Sequence[WorkOrder], single: int, directory: Path) -> None:
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
                        " claim_deadline, due, updated_at, snapshot, snapshot_format)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    runs = {"raw": raw, "batched": batched, "single": one_by_one}
    _compare(bench, "SQLite", runs, {"raw": len(orders), "batched": len(orders), "single": single})


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


def bench_postgres(bench: Bench, orders: Sequence[WorkOrder], single: int) -> None:
    order_rows, event_rows = _rows(orders, sqlite=False)
    batches = _batches(orders)
    with throwaway_database() as dsn:

        def raw(number: int) -> float:
            with _schema(dsn, f"raw_{number}") as raw_dsn:
                PostgresWorkOrders(raw_dsn, migrate=True).close()

                def insert() -> None:
                    with psycopg.connect(raw_dsn) as db, db.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO work_orders (id, customer_id, state, version,"
                            " claim_deadline, due, updated_at, snapshot, snapshot_format)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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

        runs = {"raw": raw, "batched": batched, "single": one_by_one}
        counts = {"raw": len(orders), "batched": len(orders), "single": single}
        _compare(bench, "PostgreSQL", runs, counts)


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=ORDERS, help="orders a round")
    parser.add_argument("--single", type=int, default=2_000, help="orders saved one by one")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")


def main(argv: Sequence[str] | None = None) -> None:
    arguments = options(
        "storage",
        "Storage: orders persisted through the stores against raw executemany",
        argv,
        _more_options,
    )
    bench = Bench("storage", arguments.rounds, arguments.smoke)
    count = 20 if arguments.smoke else arguments.orders
    orders = _orders(count)
    single = min(arguments.single, count)
    with tempfile.TemporaryDirectory() as directory:
        bench_sqlite(bench, orders, single, Path(directory))
    if not arguments.no_postgres:
        bench_postgres(bench, orders, single)
    bench.write(arguments.json)


if __name__ == "__main__":
    main()
