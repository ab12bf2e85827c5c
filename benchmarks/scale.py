"""The store as orders grow: use cases and queries on SQLite, small store against large.

    python benchmarks/scale.py [--no-postgres] [--rounds N] [--smoke] [--large] [--json PATH]

Each figure times the same call on a large population against a small one, in turns;
the goal is a flat cost (the ratio near 1; at most 1.5x):

- ``schedule`` with the suggested completion date, with 10 orders queued against 100,
  1,000 and 10,000 queued (paid, not yet done; the store sums the queue from an index);
- ``estimate`` with 20 orders stored against 1,010 and 100,000;
- the closing query (claim window ended), the overdue query, listing one customer's
  orders and listing one state's orders, each finding the same 10 orders among 10,000
  and among 100,000 (``--large``: 1,000,000) stored orders.

The stores are SQLite files (WAL, synchronous=FULL), built once per run through the
stores' ``save_many``; a use case that changes an order runs on a fresh copy of its file
each call (the copying is not timed), so every call sees the same population.

The four queries run on PostgreSQL too (unless ``--no-postgres``): the same populations,
each in a schema of a throwaway database on KOMTET_WORKS_PG_DSN (default the local
server), analysed after loading as a host's autovacuum would.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Final

import pendulum

from harness import Batch, Bench, calls, options, throwaway_database
from komtet_works import State, WorkOrder, bootstrap
from komtet_works.adapters.memory import ManualClock
from komtet_works.adapters.sql.stores import SqlWorkOrders
from komtet_works.adapters.sqlite import SqliteCustomerDirectory, SqliteWorkOrders
from komtet_works.testing.orders import START, customer_for, in_state, requested

BATCH: Final = 1_000
#: Each query's matches: the same few orders, whatever the population around them.
FOUND: Final = 10
LISTED_CUSTOMER: Final = "listed"
NOW: Final = START + timedelta(days=60)  # every claim window and due date has passed


def _bulk(count: int, state: State, prefix: str) -> Iterator[WorkOrder]:
    """`count` orders in `state`, their customers spread over a thousand."""
    for n in range(count):
        yield in_state(state, f"{prefix}-{n}", customer_id=f"bulk-{n % 1000}")


def _save_all(store: SqlWorkOrders, orders: Iterable[WorkOrder]) -> None:
    """`orders` saved as new, `BATCH` a transaction."""
    batch: list[tuple[WorkOrder, int]] = []
    for order in orders:
        batch.append((order, 0))
        if len(batch) == BATCH:
            store.save_many(batch)
            batch = []
    if batch:
        store.save_many(batch)


def _store(path: Path, orders: Iterator[WorkOrder], customers: Sequence[str]) -> Path:
    """A SQLite file at `path` holding `orders` and `customers`, its WAL checkpointed.

    Built once a run: a second call for the same `path` finds it built.
    """
    if path.exists():
        return path
    with SqliteWorkOrders(path, migrate=True) as store:
        _save_all(store, orders)
    with SqliteCustomerDirectory(path) as directory:
        for customer_id in customers:
            directory.put(customer_for(customer_id))
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _queries_population(count: int) -> Iterator[WorkOrder]:
    """`count` orders: FOUND for each query, the rest declined (found by none of them)."""
    yield from _bulk(FOUND, State.COMPLETED, "closing")  # claim window ended by NOW
    yield from _bulk(FOUND, State.SCHEDULED, "overdue")  # due two days after scheduling
    yield from _bulk(FOUND, State.CLAIMED, "claimed")
    for n in range(FOUND):
        yield in_state(State.DECLINED, f"listed-{n}", customer_id=LISTED_CUSTOMER)
    yield from _bulk(count - 4 * FOUND, State.DECLINED, "bulk")


def _fresh_copy(template: Path, directory: Path) -> Path:
    copy = directory / f"copy-{time.monotonic_ns()}.sqlite"
    shutil.copyfile(template, copy)
    return copy


def _on_copies(template: Path, call: Callable[[bootstrap.Wiring], object]) -> Batch:
    """A batch timing `call` on a fresh copy of `template` each time, the copy untimed."""

    def batch(number: int) -> float:
        spent = 0.0
        for _ in range(number):
            copy = _fresh_copy(template, template.parent)
            with bootstrap.on_sqlite(copy, clock=ManualClock(NOW)) as wiring:
                begin = time.perf_counter()
                call(wiring)
                spent += time.perf_counter() - begin
            for leftover in (copy, copy.with_name(f"{copy.name}-wal")):
                leftover.unlink(missing_ok=True)
        return spent

    return batch


def _schedule(wiring: bootstrap.Wiring) -> object:
    return wiring.service.schedule("target", staff_id="s1")  # the suggested date


def _estimate(wiring: bootstrap.Wiring) -> object:
    return wiring.service.estimate("target", staff_id="s1", hours="2")


def _queued(directory: Path, count: int) -> Path:
    """A store with `count` paid orders queued, one of them the order to schedule."""
    orders = _bulk(count - 1, State.PAID, "queued")
    target = in_state(State.PAID, "target", customer_id="bulk-0")
    return _store(
        directory / f"queued-{count}.sqlite", itertools.chain([target], orders), ["bulk-0"]
    )


def _stored(directory: Path, count: int) -> Path:
    """A store with `count` orders, one of them the requested order to estimate."""
    target = requested("target", customer_id="bulk-0")
    orders = _queries_population(count - 1)
    return _store(
        directory / f"stored-{count}.sqlite", itertools.chain([target], orders), ["bulk-0"]
    )


def _query(store: SqlWorkOrders, name: str) -> Callable[[], Sequence[WorkOrder]]:
    queries: dict[str, Callable[[], Sequence[WorkOrder]]] = {
        "the closing query (claim window ended)": lambda: store.claim_window_ended(NOW),
        "the overdue query": lambda: store.overdue(NOW),
        "listing one customer's orders": lambda: store.by_customer(LISTED_CUSTOMER),
        "listing one state's orders": lambda: store.by_state(State.CLAIMED),
    }
    return queries[name]


QUERIES: Final = (
    "the closing query (claim window ended)",
    "the overdue query",
    "listing one customer's orders",
    "listing one state's orders",
)


def use_cases(bench: Bench, directory: Path) -> None:
    few, *more = (3, 10, 30) if bench.smoke else (10, 100, 1_000, 10_000)
    small = _queued(directory, few)
    for count in more:
        bench.compare(
            f"`schedule`, suggested date, {count:,} vs {few} queued",
            _on_copies(_queued(directory, count), _schedule),
            _on_copies(small, _schedule),
            baseline_name=f"{few} queued",
            goal="<= 1.5x",
        )
    few, many, most = (3 * FOUND, 5 * FOUND, 10 * FOUND) if bench.smoke else (20, 1_010, 100_000)
    small = _stored(directory, max(few, 4 * FOUND + 1))
    for count in (many, most):
        bench.compare(
            f"`estimate`, {count:,} vs {few} stored",
            _on_copies(_stored(directory, count), _estimate),
            _on_copies(small, _estimate),
            baseline_name=f"{few} stored",
            goal="<= 1.5x",
        )


#: Opens the stores of a small and a large population of the query figures.
Stores = Callable[[int, int], AbstractContextManager[tuple[SqlWorkOrders, SqlWorkOrders]]]


def _query_sizes(bench: Bench) -> list[tuple[int, int]]:
    sizes = [(100, 1_000)] if bench.smoke else [(10_000, 100_000)]
    if bench.large and not bench.smoke:
        sizes.append((10_000, 1_000_000))
    return sizes


def queries(bench: Bench, where: str, stores: Stores) -> None:
    """The four query figures, each store of `stores` finding the same `FOUND` orders."""
    for small_count, large_count in _query_sizes(bench):
        with stores(small_count, large_count) as (small, large):
            for name in QUERIES:
                assert len(_query(large, name)()) == FOUND
                bench.compare(
                    f"{where}{name}, {large_count:,} vs {small_count:,} stored",
                    calls(_query(large, name)),
                    calls(_query(small, name)),
                    baseline_name=f"{small_count:,} stored",
                    goal="<= 1.5x",
                    number=20,
                )


def on_sqlite(directory: Path) -> Stores:
    @contextmanager
    def stores(small: int, large: int) -> Iterator[tuple[SqlWorkOrders, SqlWorkOrders]]:
        with (
            SqliteWorkOrders(_stored(directory, small)) as small_store,
            SqliteWorkOrders(_stored(directory, large)) as large_store,
        ):
            yield small_store, large_store

    return stores


def on_postgres(dsn: str) -> Stores:
    """Each population in a schema of its own, loaded once a run, then analysed."""
    import psycopg  # noqa: PLC0415 - only these figures need the driver

    from komtet_works.adapters.postgres import PostgresWorkOrders  # noqa: PLC0415

    loaded: set[int] = set()

    def store(count: int) -> PostgresWorkOrders:
        schema = f"stored_{count}"
        opened = PostgresWorkOrders(dsn, schema=schema, migrate=count not in loaded)
        if count not in loaded:
            target = requested("target", customer_id="bulk-0")
            _save_all(opened, itertools.chain([target], _queries_population(count - 1)))
            with psycopg.connect(dsn, autocommit=True) as db:
                db.execute(f"ANALYZE {schema}.work_orders")
                db.execute(f"ANALYZE {schema}.work_order_events")
            loaded.add(count)
        return opened

    @contextmanager
    def stores(small: int, large: int) -> Iterator[tuple[SqlWorkOrders, SqlWorkOrders]]:
        with ExitStack() as opened:
            yield (
                opened.enter_context(store(small)),
                opened.enter_context(store(large)),
            )

    return stores


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")


def main(argv: Sequence[str] | None = None) -> None:
    description = "The store as orders grow (SQLite; the queries on PostgreSQL too)"
    arguments = options("scale", description, argv, _more_options)
    bench = Bench("scale", arguments.rounds, arguments.smoke, arguments.large)
    print(f"{description} (interleaved rounds: {bench.rounds}, medians)")
    began = pendulum.now()
    with tempfile.TemporaryDirectory() as directory:
        use_cases(bench, Path(directory))
        queries(bench, "", on_sqlite(Path(directory)))
    if not arguments.no_postgres:
        with throwaway_database() as dsn:
            queries(bench, "PostgreSQL: ", on_postgres(dsn))
    print(f"({(pendulum.now() - began).in_seconds()} s)")
    bench.write(arguments.json)


if __name__ == "__main__":
    main()
