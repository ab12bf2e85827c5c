"""Staff processes race to start works on one target, on SQLite and PostgreSQL (rule T1).

Each round has its own site and, per worker, a scheduled order of the same customer on it.
Every worker waits at a barrier, then starts its order through `WorkOrderService.start`
at once.  Exactly one may win each round; every other start must end in `TargetBusy`,
whether the use case saw the winner first or the store's index refused the save.

Size: ``KOMTET_WORKS_TARGET_RACE=WORKERSxROUNDS`` (default 2x200: issue 9's figure).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Final

import pytest
from test_races import run_workers

from komtet_works import Customer, State, TargetBusy, WorkOrder, bootstrap
from komtet_works.bootstrap import Wiring
from komtet_works.testing.orders import START, walk

WORKERS, ROUNDS = (int(n) for n in os.environ.get("KOMTET_WORKS_TARGET_RACE", "2x200").split("x"))
_CUSTOMER: Final = Customer(
    "cust-race", sites=frozenset(f"site-{n}.example" for n in range(ROUNDS))
)


def _order_id(round_number: int, worker: int) -> str:
    return f"busy-{round_number}-{worker}"


def _scheduled(round_number: int, worker: int) -> WorkOrder:
    requested = WorkOrder.request(
        order_id=_order_id(round_number, worker),
        customer=_CUSTOMER,
        target=f"site-{round_number}.example",
        problem=f"worker {worker}",
        at=START,
    )
    return walk(requested, State.SCHEDULED)


def _worker(
    open_wiring: Callable[[], Wiring],
    worker: int,
    barrier: Barrier,
    results: multiprocessing.Queue[dict[str, Any]],
) -> None:
    wins: list[int] = []
    busy = 0
    by_the_store = 0
    errors: list[str] = []
    wiring = open_wiring()
    try:
        for round_number in range(ROUNDS):
            barrier.wait(timeout=120)
            try:
                wiring.service.start(_order_id(round_number, worker), staff_id=f"staff-{worker}")
            except TargetBusy as refusal:
                busy += 1
                by_the_store += "this target" in str(refusal)  # the index, not the read
            except Exception as error:  # noqa: BLE001 - every other error is a finding
                errors.append(f"{type(error).__name__}: {error}")
            else:
                wins.append(round_number)
    finally:
        wiring.close()
        results.put({"wins": wins, "busy": busy, "store": by_the_store, "errors": errors})


def _race(open_wiring: Callable[[], Wiring]) -> None:
    """Prepare the rounds, run the workers, check one winner per round."""
    setup = open_wiring()
    try:
        setup.customers.put(_CUSTOMER)
        for round_number in range(ROUNDS):
            for worker in range(WORKERS):
                setup.orders.save(_scheduled(round_number, worker), expected_version=0)
    finally:
        setup.close()
    reports = run_workers(_worker, open_wiring, WORKERS)

    assert [] == [e for r in reports for e in r["errors"]]
    wins = sorted(n for r in reports for n in r["wins"])
    assert list(range(ROUNDS)) == wins  # exactly one winner each round
    assert ROUNDS * (WORKERS - 1) == sum(r["busy"] for r in reports)
    refused_by_the_index = sum(r["store"] for r in reports)
    print(f"\n{ROUNDS} rounds: {refused_by_the_index} refused by the store's index")  # noqa: T201
    assert refused_by_the_index > 0  # the losers got past the read: the store decided
    check = open_wiring()
    try:
        for round_number in range(ROUNDS):
            states = [check.orders.get(_order_id(round_number, w)).state for w in range(WORKERS)]
            assert 1 == states.count(State.IN_PROGRESS)
            assert WORKERS - 1 == states.count(State.SCHEDULED)
    finally:
        check.close()


@pytest.mark.rule("T1")
def test_staff_racing_to_start_works_on_one_site_on_sqlite_have_one_winner(
    tmp_path: Path,
) -> None:
    """SQLite: of the staff starting works on one site at once, one wins, the rest target_busy."""
    path = tmp_path / "race.sqlite"
    bootstrap.on_sqlite(path, migrate=True).close()
    _race(lambda: bootstrap.on_sqlite(path))


@pytest.mark.postgres
@pytest.mark.rule("T1")
def test_staff_racing_to_start_works_on_one_site_on_postgres_have_one_winner(
    pg_dsn: str,
) -> None:
    """PostgreSQL: of the staff starting works on one site at once, one wins, the rest busy."""
    bootstrap.on_postgres(pg_dsn, migrate=True).close()
    _race(lambda: bootstrap.on_postgres(pg_dsn))
