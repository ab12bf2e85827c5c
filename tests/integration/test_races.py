"""Worker processes race the same transitions on the same orders, on SQLite and PostgreSQL.

Each round, every worker waits at a barrier, then all try to create the round's order
(expected version 0) and to record `CHANGES` customer changes on it, each against the
version it loaded.  Exactly one worker may win each version; every other attempt must
end in `ConcurrencyError`.

Size: ``KOMTET_WORKS_RACE=WORKERSxROUNDS`` (default 8x100, seconds per store); the full
size of issue 4 is ``KOMTET_WORKS_RACE=32x1000``.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Final

import pytest

from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.errors import ConcurrencyError, UnknownOrder
from komtet_works.domain.events import Event
from komtet_works.domain.lifecycle import Action
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing import DurableStore
from komtet_works.testing.orders import requested, take

WORKERS, ROUNDS = (int(n) for n in os.environ.get("KOMTET_WORKS_RACE", "8x100").split("x"))
#: Versions per round: the request, then this many customer changes.
CHANGES: Final = 3
_FORK: Final = multiprocessing.get_context("fork")


def _order_id(round_number: int) -> str:
    return f"race-{round_number}"


def _attempt(store: DurableStore, round_number: int, worker: int) -> tuple[bool, int]:
    """One try at the next version of the round's order: (won, version it would write)."""
    mark = f"worker {worker}"
    try:
        order = store.get(_order_id(round_number))
    except UnknownOrder:
        new = requested(_order_id(round_number), problem=mark)
        try:
            store.save(new, expected_version=0)
        except ConcurrencyError:
            return False, 1
        return True, 1
    if order.version > CHANGES:
        return False, 0
    changed = take(
        order, Action.CUSTOMER_CHANGE, order.last_step_at + timedelta(seconds=1), text=mark
    )
    try:
        store.save(changed, expected_version=order.version)
    except ConcurrencyError:
        return False, changed.version
    return True, changed.version


def _worker(
    open_store: Callable[[], DurableStore],
    worker: int,
    barrier: Barrier,
    results: multiprocessing.Queue[dict[str, Any]],
) -> None:
    wins: list[tuple[int, int]] = []
    losses = 0
    errors: list[str] = []
    store = open_store()
    try:
        for round_number in range(ROUNDS):
            barrier.wait(timeout=120)
            while True:
                try:
                    won, version = _attempt(store, round_number, worker)
                except Exception as error:  # noqa: BLE001 - every other error is a finding
                    errors.append(f"{type(error).__name__}: {error}")
                    break
                if version == 0:
                    break
                if won:
                    wins.append((round_number, version))
                else:
                    losses += 1
    finally:
        store.close()
        results.put({"worker": worker, "wins": wins, "losses": losses, "errors": errors})


def run_workers(
    worker: Callable[[Any, int, Barrier, multiprocessing.Queue[dict[str, Any]]], None],
    opener: object,
    count: int,
) -> list[dict[str, Any]]:
    """Fork `count` processes running ``worker(opener, n, barrier, results)``, each to put
    one report in `results`; wait for all and return their reports."""
    barrier = _FORK.Barrier(count)
    results: multiprocessing.Queue[dict[str, Any]] = _FORK.Queue()
    workers = [
        _FORK.Process(target=worker, args=(opener, n, barrier, results)) for n in range(count)
    ]
    for process in workers:
        process.start()
    reports = [results.get(timeout=3600) for _ in workers]
    for process in workers:
        process.join()
    return reports


def _race(open_store: Callable[[], DurableStore]) -> Counter[str]:
    """Run the race; check every promise; return the tallies."""
    open_store().close()  # migrate once, before the workers start
    reports = run_workers(_worker, open_store, WORKERS)

    assert [] == [e for r in reports for e in r["errors"]]
    winners: dict[tuple[int, int], list[int]] = {}
    for report in reports:
        for key in report["wins"]:
            winners.setdefault(key, []).append(report["worker"])
    store = open_store()
    try:
        for round_number in range(ROUNDS):
            order = store.get(_order_id(round_number))
            assert 1 + CHANGES == order.version
            assert [] == list(store.verify_replay(order.id))
            for version in range(1, order.version + 1):
                (worker,) = winners[round_number, version]  # exactly one winner
                assert f"worker {worker}" == _mark(order, store.history(order.id), version)
        assert len(winners) == sum(1 + CHANGES for _ in range(ROUNDS))
    finally:
        store.close()
    tallies = Counter(
        wins=sum(len(r["wins"]) for r in reports), losses=sum(r["losses"] for r in reports)
    )
    assert tallies["wins"] == ROUNDS * (1 + CHANGES)
    assert tallies["losses"] > 0
    return tallies


def _mark(order: WorkOrder, history: Sequence[Event], version: int) -> str:
    event = history[version - 1]
    return order.problem if version == 1 else event.note


@pytest.mark.rule("L12")
def test_racing_workers_on_a_sqlite_file_have_one_winner_per_version(tmp_path: Path) -> None:
    """SQLite: one winner per version, every loser ConcurrencyError, no gaps, file intact."""
    path = tmp_path / "race.sqlite"
    _race(lambda: SqliteWorkOrders(path, migrate=True))
    with closing(sqlite3.connect(path)) as db:
        assert [("ok",)] == db.execute("PRAGMA integrity_check").fetchall()


@pytest.mark.postgres
@pytest.mark.rule("L12")
def test_racing_workers_on_postgres_have_one_winner_per_version(pg_dsn: str) -> None:
    """PostgreSQL: one winner per version, every loser ConcurrencyError, no gaps."""
    _race(lambda: PostgresWorkOrders(pg_dsn, migrate=True))
