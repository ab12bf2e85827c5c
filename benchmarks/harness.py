"""The measuring harness every benchmark here shares: interleaved rounds, medians, ratios.

A figure is two timed functions, ours and its baseline.  Each round times one batch of
calls of each, in turn (the order alternating between rounds), so a machine busy with
something else for a moment slows both sides of a round alike; the figure is the median
time per call of each over the rounds, and their ratio.  The ratio, not the absolute time,
is what to compare across machines and loads.

`Bench` collects the figures of one run, prints each as it is measured and writes them
all as one JSON document with the machine, the interpreter and the package versions.
Nothing here asserts: speed is reported, not tested (benchmarks/ is the place for it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

#: The packages whose versions a result names.
PACKAGES: Final = (
    "komtet-works",
    "attrs",
    "pendulum",
    "python-statemachine",
    "transitions",
    "psycopg",
)
RESULTS: Final = Path(__file__).with_name("results")
MIN_ROUNDS: Final = 15
#: The PostgreSQL server the benchmarks make their throwaway databases on.
PG_DSN: Final = os.environ.get(
    "KOMTET_WORKS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)

#: A batch of calls: run it, given how many, and return the seconds it took.
Batch = Callable[[int], float]


def calls(function: Callable[[], object]) -> Batch:
    """A batch that calls `function` `number` times back to back."""

    def batch(number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            function()
        return time.perf_counter() - start

    return batch


@attrs.frozen
class Figure:
    """One measured figure: ours against its baseline, per call, medians of `rounds`."""

    name: str
    measured: float  # seconds per call, the median over the rounds
    baseline: float
    baseline_name: str
    rounds: int
    number: int
    goal: str

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline

    def line(self) -> str:
        return (
            f"{self.name:<58} {_shown(self.measured):>10}  vs {self.baseline_name:<24}"
            f" {_shown(self.baseline):>10}  ratio {self.ratio:6.2f}x   goal {self.goal}"
        )


def _shown(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} us"


def interleaved(ours: Batch, baseline: Batch, *, rounds: int, number: int) -> tuple[float, float]:
    """The median seconds per call of `ours` and `baseline`, timed in alternating turns."""
    ours(max(1, number // 10))  # warm both up: caches, lazy imports, the allocator
    baseline(max(1, number // 10))
    mine: list[float] = []
    theirs: list[float] = []
    for turn in range(rounds):
        if turn % 2:
            mine.append(ours(number) / number)
            theirs.append(baseline(number) / number)
        else:
            theirs.append(baseline(number) / number)
            mine.append(ours(number) / number)
    return statistics.median(mine), statistics.median(theirs)


@attrs.define
class Bench:
    """The figures of one benchmark run, printed as measured, then written as JSON."""

    name: str
    rounds: int
    smoke: bool
    large: bool = False  # also the largest sizes (slow)
    figures: list[Figure] = attrs.field(factory=list)

    def compare(
        self,
        name: str,
        ours: Batch,
        baseline: Batch,
        *,
        baseline_name: str,
        goal: str,
        number: int = 1,
    ) -> Figure:
        """Measure `ours` against `baseline`, `number` calls a round; print and keep it."""
        number = 1 if self.smoke else number
        mine, theirs = interleaved(ours, baseline, rounds=self.rounds, number=number)
        return self.keep(Figure(name, mine, theirs, baseline_name, self.rounds, number, goal))

    def keep(self, figure: Figure) -> Figure:
        """Print `figure` and keep it for the results (one measured some other way)."""
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def document(self) -> dict[str, object]:
        return {
            "benchmark": self.name,
            "smoke": self.smoke,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "python": sys.version,
            "packages": versions(),
            "figures": [attrs.asdict(figure) | {"ratio": figure.ratio} for figure in self.figures],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=2) + "\n", encoding="utf-8")
        print(f"results written to {path}")


def machine() -> dict[str, object]:
    """What ran the benchmark: the platform, the cores, and how busy they were."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "implementation": platform.python_implementation(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def options(
    name: str,
    description: str,
    argv: Sequence[str] | None = None,
    more: Callable[[argparse.ArgumentParser], object] = lambda _: None,
    *,
    minimum: int = MIN_ROUNDS,
) -> argparse.Namespace:
    """The options every benchmark takes (``--rounds``, ``--smoke``, ``--json PATH``,
    ``--large``), and those `more` adds; at least `minimum` rounds (fewer only for rounds
    of several processes, each of them long)."""
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=description)
    more(parser)
    parser.add_argument(
        "--rounds", type=int, default=minimum, help=f"rounds per figure (>= {minimum})"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smallest sizes and 3 rounds: proves it runs, measures nothing",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS / f"{name}.json",
        help="where to write the results (default benchmarks/results/NAME.json)",
    )
    parser.add_argument("--large", action="store_true", help="also the largest sizes")
    arguments = parser.parse_args(argv)
    arguments.rounds = 3 if arguments.smoke else max(arguments.rounds, minimum)
    return arguments


def start(name: str, description: str, argv: Sequence[str] | None = None) -> tuple[Bench, Path]:
    """The run's `Bench` and where its results go, from the command line."""
    arguments = options(name, description, argv)
    bench = Bench(name, arguments.rounds, arguments.smoke, arguments.large)
    print(f"{description} (interleaved rounds: {bench.rounds}, medians)")
    return bench, arguments.json


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new PostgreSQL database on `PG_DSN` for one run, dropped after it: its DSN."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL runs need the driver
    from psycopg import sql  # noqa: PLC0415
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    name = f"komtet_bench_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(PG_DSN, dbname=name)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


if TYPE_CHECKING:
    from komtet_works import WorkOrder, WorkOrderService
    from komtet_works.adapters.memory import ManualClock


def whole_life(
    service: WorkOrderService, clock: ManualClock, order_id: str, *, customer_id: str, target: str
) -> WorkOrder:
    """One order's whole life through the use cases, an hour a step, closed at the end."""
    hour = timedelta(hours=1)
    service.request(order_id=order_id, customer_id=customer_id, target=target, problem="fails")
    clock.advance(hour)
    service.estimate(order_id, staff_id="s1", hours="2")
    clock.advance(hour)
    service.record_payment(order_id, payment_id=f"p-{order_id}", amount="1600.00")
    clock.advance(hour)
    service.schedule(order_id, staff_id="s1", due=clock.now() + timedelta(weeks=1))
    clock.advance(hour)
    service.start(order_id, staff_id="s1")
    clock.advance(hour)
    service.complete(order_id, staff_id="s1")
    clock.advance(service.policy.claim_window + hour)
    return service.close(order_id, staff_id="s1")
