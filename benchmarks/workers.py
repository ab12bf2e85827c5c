"""Many workers: 1, 2 and 4 processes at once on one database, and the relay with several.

    python benchmarks/workers.py [--lives N] [--messages N] [--no-postgres]
                                 [--rounds N] [--smoke] [--json PATH]

Each process opens its own `bootstrap` wiring and, once every process of the round is
ready, lives whole lives (request, estimate, pay, schedule, start, complete, close: 7
commits) on orders of its own, on a target of its own; ``--lives`` lives a round in
all, shared between the processes:

- on SQLite (one file, WAL, synchronous=FULL) and on PostgreSQL (a throwaway database
  on KOMTET_WORKS_PG_DSN, default the local server): the time per order with 2 and with
  4 processes against 1 process, and orders/s and the scaling (1 process's time per
  order over N's);
- the relay (`komtet_works.relay.relay`) on PostgreSQL with ``--messages`` messages
  pending: the time per message with 2 and 4 relay processes against 1.

A round is timed from the moment all its processes are ready (connected, imported) to
the moment the last is done: `time.perf_counter` is the system's monotonic clock, the
same in every process.  Rounds of several processes are long, so there are 5 by
default (not 15); they are interleaved as everywhere (`harness`): the 1, 2 and 4
process rounds take turns, in an order rotating between rounds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Final

import pendulum

from harness import Bench, Figure, options, throwaway_database, whole_life
from komtet_works import Customer, State, bootstrap
from komtet_works.adapters.memory import InMemoryNotifier, ManualClock
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.ports.notifications import CompletionDateFacts, Message
from komtet_works.relay import relay
from komtet_works.testing.orders import in_state

AT: Final = pendulum.datetime(2026, 3, 2, 7, tz="UTC")
PROCESSES: Final = (1, 2, 4)
ROUNDS: Final = 5
#: fork: a process starts with the benchmark's modules imported and no connection open
CONTEXT: Final = multiprocessing.get_context("fork")

#: Opens a wiring on the benchmark's database, in a worker process, on its clock.
Opener = Callable[[ManualClock], bootstrap.Wiring]
#: What one process does in a round: given its number, the round's name and its share,
#: its work ready to run (connected: the round's clock starts when all are ready).
Work = Callable[[int, str, int], AbstractContextManager[Callable[[], None]]]
#: How long a process may wait for the others, or the parent for a process.
PATIENCE: Final = 900.0


def customer(worker: int) -> Customer:
    """Worker `worker`'s customer: a site of its own, so no two lives share a target (T1)."""
    site = f"site-{worker}.example"
    return Customer(f"c{worker}", sites=frozenset({site}), maintained_sites=frozenset({site}))


def lives(opener: Opener) -> Work:
    """A process's share of whole lives through the use cases, orders named for the round."""

    @contextmanager
    def work(worker: int, round_name: str, share: int) -> Iterator[Callable[[], None]]:
        clock = ManualClock(AT)
        with opener(clock) as wiring:
            service, site = wiring.service, f"site-{worker}.example"

            def run() -> None:
                for n in range(share):
                    order_id = f"{round_name}-w{worker}-{n}"
                    closed = whole_life(
                        service, clock, order_id, customer_id=f"c{worker}", target=site
                    )
                    assert closed.state is State.CLOSED

            yield run

    return work


def relaying(dsn: str) -> Work:
    """A relay process: sending the pending messages until none is left to claim."""

    @contextmanager
    def work(_worker: int, _round_name: str, _share: int) -> Iterator[Callable[[], None]]:
        clock = ManualClock(AT + timedelta(days=1))
        with PostgresWorkOrders(dsn) as store:
            notifier = InMemoryNotifier(clock)

            def run() -> None:
                relay(store, notifier, clock=clock)

            yield run

    return work


def _process(
    work: Work,
    *,
    worker: int,
    round_name: str,
    share: int,
    barrier: Barrier,
    times: Queue[tuple[float, float]],
) -> None:
    with work(worker, round_name, share) as run:
        barrier.wait(PATIENCE)
        start = time.perf_counter()
        run()
        times.put((start, time.perf_counter()))


def _span(times: Queue[tuple[float, float]], started: Sequence[BaseProcess]) -> tuple[float, float]:
    """The next (start, end) a process reports; a process that failed stops the benchmark."""
    while True:
        try:
            return times.get(timeout=1)
        except queue.Empty:
            failed = [p.exitcode for p in started if p.exitcode not in {None, 0}]
            if failed:
                raise RuntimeError(f"a worker process failed (exit codes {failed})") from None


_rounds = iter(range(1_000_000))


def round_of(work: Work, processes: int, items: int) -> float:
    """One round: `processes` processes sharing `items`; the seconds per item, wall time."""
    barrier = CONTEXT.Barrier(processes)
    times: Queue[tuple[float, float]] = CONTEXT.Queue()
    round_name = f"r{next(_rounds)}"
    share = items // processes
    started = [
        CONTEXT.Process(
            target=_process,
            args=(work,),
            kwargs={
                "worker": worker,
                "round_name": round_name,
                "share": share,
                "barrier": barrier,
                "times": times,
            },
        )
        for worker in range(processes)
    ]
    for process in started:
        process.start()
    spans = [_span(times, started) for _ in started]
    for process in started:
        process.join(PATIENCE)
    return (max(end for _, end in spans) - min(start for start, _ in spans)) / items


def interleaved_rounds(
    rounds: int, run: Callable[[int], float], before: Callable[[], None] = lambda: None
) -> dict[int, float]:
    """The median of `rounds` rounds of each number of `PROCESSES`, taking turns (the
    order rotating each round); `before` readies the database for a round, untimed."""
    times: dict[int, list[float]] = {n: [] for n in PROCESSES}
    for turn in range(rounds):
        shift = turn % len(PROCESSES)
        for processes in PROCESSES[shift:] + PROCESSES[:shift]:
            before()
            times[processes].append(run(processes))
    return {n: statistics.median(seconds) for n, seconds in times.items()}


def report(bench: Bench, what: str, unit: str, medians: Mapping[int, float], items: int) -> None:
    """A figure per number of processes above 1, against 1 process; with rates."""
    one = medians[1]
    for processes in PROCESSES[1:]:
        figure = Figure(
            f"{what}, {processes} processes vs 1, per {unit}",
            medians[processes],
            one,
            "1 process",
            bench.rounds,
            items,
            f"reported (scaling: {processes}x would be ideal)",
        )
        bench.keep(figure)
    rates = ", ".join(f"{n} process(es) {1 / medians[n]:,.1f} {unit}s/s" for n in PROCESSES)
    scaling = ", ".join(f"{n}: {one / medians[n]:.2f}x" for n in PROCESSES[1:])
    print(f"  {what}: {rates}; scaling against 1 process {scaling}", flush=True)


def on_sqlite(bench: Bench, directory: Path, count: int) -> None:
    path = directory / "workers.sqlite"
    with bootstrap.on_sqlite(path, migrate=True) as wiring:
        for worker in range(max(PROCESSES)):
            wiring.customers.put(customer(worker))
    work = lives(lambda clock: bootstrap.on_sqlite(path, clock=clock))
    medians = interleaved_rounds(bench.rounds, lambda n: round_of(work, n, count))
    report(bench, "SQLite: whole lives", "order", medians, count)


def on_postgres(bench: Bench, count: int, messages: int) -> None:
    with throwaway_database() as dsn:
        with bootstrap.on_postgres(dsn, migrate=True) as wiring:
            for worker in range(max(PROCESSES)):
                wiring.customers.put(customer(worker))
        work = lives(lambda clock: bootstrap.on_postgres(dsn, clock=clock))
        medians = interleaved_rounds(bench.rounds, lambda n: round_of(work, n, count))
        report(bench, "PostgreSQL: whole lives", "order", medians, count)
    with throwaway_database() as dsn:  # of its own: its outbox holds only these messages
        relay_figures(bench, dsn, messages)


def relay_figures(bench: Bench, dsn: str, messages: int) -> None:
    import psycopg  # noqa: PLC0415 - only this run needs the driver

    PostgresWorkOrders(dsn, migrate=True).close()
    _pending(dsn, messages)
    with psycopg.connect(dsn, autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (messages,)

        def unsent() -> None:
            db.execute("UPDATE outbox SET sent_at = NULL, claimed_until = NULL")
            db.execute("VACUUM outbox")  # each round finds the table as the first did

        def relayed(processes: int) -> float:
            seconds = round_of(relaying(dsn), processes, messages)
            left = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            assert left.fetchone() == (0,), "the relays left messages unsent"
            return seconds

        medians = interleaved_rounds(bench.rounds, relayed, unsent)
    report(bench, f"PostgreSQL: the relay, {messages:,} pending", "message", medians, messages)


def _pending(dsn: str, messages: int) -> None:
    """`messages` scheduled orders, each with its completion-date message pending."""
    orders = [in_state(State.SCHEDULED, f"relay-{n}") for n in range(messages)]
    with PostgresWorkOrders(dsn) as store:
        for start in range(0, messages, 1_000):
            batch = orders[start : start + 1_000]
            store.save_many(
                [(order, 0) for order in batch],
                messages=[
                    Message(f"m-{o.id}", o.id, o.customer_id, CompletionDateFacts(o.works.due))
                    for o in batch
                    if o.works.due is not None
                ],
            )


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lives", type=int, default=40, help="whole lives a round, in all")
    parser.add_argument("--messages", type=int, default=2_000, help="messages the relays send")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")


def main(argv: Sequence[str] | None = None) -> None:
    description = "Many workers: 1, 2 and 4 processes on one database"
    arguments = options("workers", description, argv, _more_options, minimum=ROUNDS)
    bench = Bench("workers", arguments.rounds, arguments.smoke)
    print(
        f"{description} (interleaved rounds of several processes: {bench.rounds}, fewer "
        "than the 15 of the one-process benchmarks, medians)"
    )
    count = 4 if arguments.smoke else arguments.lives
    messages = 8 if arguments.smoke else arguments.messages
    with tempfile.TemporaryDirectory() as directory:
        on_sqlite(bench, Path(directory), count)
    if not arguments.no_postgres:
        on_postgres(bench, count, messages)
    bench.write(arguments.json)


if __name__ == "__main__":
    main()
