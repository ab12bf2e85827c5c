"""Long histories: loading one order through the stores as its events pile up.

    python benchmarks/histories.py [--no-postgres] [--rounds N] [--smoke] [--json PATH]

Two kinds of long history are stored with 10, 1,000 and 5,000 events in SQLite (a file,
WAL) and in PostgreSQL (a throwaway database on KOMTET_WORKS_PG_DSN, default the local
server):

- *reworked*: a tenth supplements, then works claimed and done again, over and over
  (complete, its notice sent, a claim asking for rework, rework: four events a cycle, as
  the lifecycle allows without limit).  Its history grows, its state does not: the state
  keeps the latest claim and the counts the rules read, the history every supplement and
  claim (`domain/recorded.py` reads them for people);
- *rescheduled*: the completion date announced again and again, a state that does not
  grow.

``get`` reads the order's stored state (the read model), never its events.  The figures:

- ``get`` of the 1,000-event and of the 5,000-event orders against the 10-event one (the
  goal of issue 12: time independent of the length, at most 1.5x);
- ``get`` of the 5,000-event reworked order against reading its state row alone, not
  decoded;
- ``WorkOrder.replay`` of the 5,000 events, decoded beforehand, against the 10: the
  domain's share, without the database or the JSON.

A cProfile of the 5,000-event ``get`` on SQLite is printed and written next to the JSON
(``NAME.profile.txt``): where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Final

from harness import Bench, calls, options, throwaway_database
from komtet_works import State, WorkOrder
from komtet_works.adapters.codec import dumps_event, loads_event
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sql.stores import SqlWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.lifecycle import Action
from komtet_works.testing.orders import requested, take, walk

HOUR: Final = timedelta(hours=1)
SHORT: Final = 10
#: The events of one rework cycle: complete, its notice sent, a claim asking for rework,
#: rework.
CYCLE: Final = (Action.COMPLETE, Action.NOTICE_SENT, Action.CLAIM, Action.REWORK)
ROW: Final = "SELECT version, snapshot_format, snapshot FROM work_orders WHERE id = "
#: The kinds of history, by name: whether the order is reworked (or only rescheduled).
KINDS: Final = {"reworked": True, "rescheduled": False}


def long_order(order_id: str, events: int, *, reworked: bool = True) -> WorkOrder:
    """An order with exactly `events` events: requested, supplemented (a tenth of them,
    if `reworked`), scheduled, rescheduled to pad, started, rework cycles (if
    `reworked`), completed at last."""
    supplements = events // 10 if reworked else 0
    cycles, padding = divmod(events - 6 - supplements, len(CYCLE)) if reworked else (0, 0)
    order = requested(order_id)

    def step(order: WorkOrder, action: Action) -> WorkOrder:
        return take(order, action, order.last_step_at + HOUR)

    for _ in range(supplements):
        order = step(order, Action.SUPPLEMENT)
    order = walk(order, State.SCHEDULED)
    for _ in range(padding if reworked else events - 6):
        order = step(order, Action.SCHEDULE)
    order = step(order, Action.START)
    for _ in range(cycles):
        for action in CYCLE:
            order = step(order, action)
    order = step(order, Action.COMPLETE)
    assert order.version == events, (order.version, events)
    return order


def _sizes(bench: Bench) -> tuple[int, int]:
    return (40, 100) if bench.smoke else (1_000, 5_000)


def _getter(store: SqlWorkOrders, order_id: str) -> Callable[[], WorkOrder]:
    return lambda: store.get(order_id)


def _store_figures(
    bench: Bench, where: str, store: SqlWorkOrders, row: Callable[[str], object]
) -> None:
    """The ``get`` figures of `store`, holding an order of each length and kind."""
    middle, longest = _sizes(bench)
    for kind, reworked in KINDS.items():
        for n in (SHORT, middle, longest):
            order = long_order(f"{kind}-{n}", n, reworked=reworked)
            store.save(order, expected_version=0)
            assert store.get(order.id) == order
        short = calls(_getter(store, f"{kind}-{SHORT}"))
        for count in (middle, longest) if reworked else (longest,):
            bench.compare(
                f"{where}: `get`, {count:,} events vs {SHORT}, {kind}",
                calls(_getter(store, f"{kind}-{count}")),
                short,
                baseline_name=f"{SHORT} events",
                goal="<= 1.5x",
            )
    bench.compare(
        f"{where}: `get`, {longest:,} events reworked vs its state row",
        calls(_getter(store, f"reworked-{longest}")),
        calls(lambda: row(f"reworked-{longest}")),
        baseline_name="the order row alone",
        goal="reported",
    )


def on_sqlite(bench: Bench, directory: Path) -> str:
    """The SQLite figures, and the profile of its longest `get`."""
    path = directory / "histories.sqlite"
    with SqliteWorkOrders(path, migrate=True) as store, closing(sqlite3.connect(path)) as db:
        _store_figures(bench, "SQLite", store, lambda i: db.execute(f"{ROW}?", (i,)).fetchone())
        return profile(bench, store)


def on_postgres(bench: Bench) -> None:
    import psycopg  # noqa: PLC0415 - only this run needs the driver

    with (
        throwaway_database() as dsn,
        PostgresWorkOrders(dsn, migrate=True) as store,
        psycopg.connect(dsn, autocommit=True) as db,
    ):
        _store_figures(
            bench, "PostgreSQL", store, lambda i: db.execute(f"{ROW}%s", (i,)).fetchone()
        )


def replay_figure(bench: Bench) -> None:
    """Replay alone: the events decoded beforehand, no database, no JSON."""
    _, longest = _sizes(bench)
    decoded = {
        n: [loads_event(dumps_event(e)) for e in long_order(f"replay-{n}", n).new_events]
        for n in (SHORT, longest)
    }
    bench.compare(
        f"`WorkOrder.replay`, {longest:,} events vs {SHORT} (decoded)",
        calls(lambda: WorkOrder.replay(decoded[longest])),
        calls(lambda: WorkOrder.replay(decoded[SHORT])),
        baseline_name=f"{SHORT} events",
        goal="reported",
    )


#: The profile's lines kept: the functions that took the most time of their own.
PROFILE_LINES: Final = 14


def profile(bench: Bench, store: SqlWorkOrders) -> str:
    """cProfile of the longest ``get``: the functions by their time with callees, and by
    their own time."""
    _, longest = _sizes(bench)
    profiler = cProfile.Profile()
    profiler.runcall(store.get, f"reworked-{longest}")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    profiled = (
        f"cProfile of SQLite `get` of a {longest:,}-event reworked order (its history holds "
        f"{longest // 10:,} supplements and every claim, its state the latest claim)\n"
        f"{text.getvalue()}"
    )
    print(profiled, flush=True)
    return profiled


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")


def main(argv: Sequence[str] | None = None) -> None:
    description = "Long histories: one order's `get` as its events pile up"
    arguments = options("histories", description, argv, _more_options)
    bench = Bench("histories", arguments.rounds, arguments.smoke)
    print(f"{description} (interleaved rounds: {bench.rounds}, medians)")
    with tempfile.TemporaryDirectory() as directory:
        profiled = on_sqlite(bench, Path(directory))
    if not arguments.no_postgres:
        on_postgres(bench)
    replay_figure(bench)
    bench.write(arguments.json)
    where = arguments.json.with_suffix(".profile.txt")
    where.write_text(profiled, encoding="utf-8")
    print(f"profile written to {where}")


if __name__ == "__main__":
    main()
