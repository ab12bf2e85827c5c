"""A worker process SIGKILLed at random moments, again and again, on one database.

`kill_worker.py` takes steps through the use cases and runs the relay; it acknowledges each
commit in a file, fsynced before it goes on, and its notifier writes each message it sends
to another.  The test kills it after a random delay, checks the database, and starts the
next worker on the same database, `KILLS` times; then it runs the relay once more and
checks that the outbox kept its promises.

Size: ``KOMTET_WORKS_KILLS`` (default 40 on SQLite; PostgreSQL gets a quarter of it); the
size of issue 4 is ``KOMTET_WORKS_KILLS=200``.  ``pytest -s`` prints the figures.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any, Final

import attrs
import pendulum
import psycopg
import pytest
from kill_worker import FileNotifier, open_store, put_customers

from komtet_works.adapters.memory import ManualClock
from komtet_works.domain.events import Event
from komtet_works.domain.keys import operation_key
from komtet_works.ports import MessageKind
from komtet_works.relay import relay
from komtet_works.testing import DurableStore
from komtet_works.testing.orders import START

KILLS: Final = int(os.environ.get("KOMTET_WORKS_KILLS", "40"))
WORKER: Final = Path(__file__).with_name("kill_worker.py")
#: Generous: a worker on a loaded CI machine may take long to start, never this long.
TIMEOUT: Final = 120.0
#: A worker is killed at most this long after it said it was ready (or, one time in ten,
#: `EARLY` after it was started, perhaps before its store is open).
LATEST: Final = 0.1
EARLY: Final = 0.3

#: The message each event owes its customer, by event type (as the use cases send them).
OWED: Final[Mapping[str, MessageKind]] = {
    "EstimateIssued": MessageKind.QUOTE_ISSUED,
    "PaymentReceived": MessageKind.PAYMENT_RECEIVED,
    "CompletionDateAnnounced": MessageKind.COMPLETION_DATE,
    "WorksStarted": MessageKind.WORKS_STARTING,
    "WorksCompleted": MessageKind.WORKS_COMPLETED,
    "ClaimAccepted": MessageKind.CLAIM_DECIDED,
    "ClaimRejected": MessageKind.CLAIM_DECIDED,
    "ReworkStarted": MessageKind.CLAIM_DECIDED,
    "RefundsSettled": MessageKind.REFUNDED,
    "RestoreWithheld": MessageKind.RESTORE_WITHHELD,
}


def _owed_kind(history: Sequence[Event], version: int) -> MessageKind:
    """The kind of message the event making `version` owes: a completion date after an
    earlier one is a revision (rule S2)."""
    name = type(history[version - 1]).__name__
    earlier = {type(event).__name__ for event in history[: version - 1]}
    if name == "CompletionDateAnnounced" and name in earlier:
        return MessageKind.COMPLETION_DATE_REVISED
    return OWED[name]


def _told_by_the_next(history: Sequence[Event], version: int) -> bool:
    """A settlement saved with the restore it withheld: the message is the second's."""
    following = history[version : version + 1]
    return bool(following) and type(following[0]).__name__ == "RestoreWithheld"


_OUTBOX: Final = "SELECT id, order_id, customer_id, kind, body FROM outbox"


@attrs.frozen
class Database:
    """The database the workers share: `kind` is sqlite or postgres, `name` a path or DSN."""

    kind: str
    name: str

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """What `query` reads, on a connection of its own (plain SQL: a look, not a use)."""
        if self.kind == "postgres":
            with psycopg.connect(self.name, autocommit=True) as db:
                return db.execute(query).fetchall()
        with closing(sqlite3.connect(self.name)) as db:
            return db.execute(query).fetchall()

    def check_integrity(self) -> None:
        """SQLite's own check of every page and index finds nothing wrong."""
        if self.kind == "sqlite":
            assert [("ok",)] == self.rows("PRAGMA integrity_check")

    @contextmanager
    def store(self) -> Iterator[DurableStore]:
        store = open_store(self.kind, self.name)
        try:
            yield store
        finally:
            store.close()


def complete_lines(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The JSON lines of `path`, and whether a torn last line (a write the kill cut) was
    dropped: it is cut off the file, so the next worker appends after a newline."""
    data = path.read_bytes() if path.exists() else b""
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as out:
            out.truncate(end)
    return [json.loads(line) for line in data[:end].splitlines()], end < len(data)


@attrs.define
class Trial:
    """Workers on one database, killed one after another, and what the test saw of them."""

    database: Database
    directory: Path
    seed: str
    rng: random.Random
    tally: Counter[str] = attrs.field(factory=Counter)
    #: how many acknowledgements the checks have read, and each order's version then
    acks_read: int = 0
    versions: dict[str, int] = attrs.field(factory=dict)

    @property
    def acks(self) -> Path:
        return self.directory / "acks.jsonl"

    @property
    def deliveries(self) -> Path:
        return self.directory / "deliveries.jsonl"

    def kill_a_worker(self, run: int) -> None:
        """Start a worker, SIGKILL it at a random moment, check what it left behind."""
        errors = self.directory / f"worker-{run}.err"
        arguments = (self.database.kind, self.database.name, self.acks, self.deliveries, run)
        with errors.open("w") as stderr:
            worker = subprocess.Popen(  # noqa: S603 - our own script, our own arguments
                [sys.executable, WORKER, *map(str, arguments), self.seed],
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        with worker:
            assert worker.stdout is not None
            if self.rng.random() < 0.1:
                delay = self.rng.uniform(0, EARLY)
            else:
                ready, _, _ = select.select([worker.stdout], [], [], TIMEOUT)
                assert ready, f"worker {run} did not start in {TIMEOUT} s"
                assert b"ready\n" == worker.stdout.readline(), errors.read_text()
                delay = self.rng.uniform(0, LATEST)
            with suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=delay)
            worker.send_signal(signal.SIGKILL)
            # a worker never ends by itself: any other end is a failure, told on stderr
            assert -signal.SIGKILL == worker.wait(timeout=TIMEOUT), errors.read_text()
        self.tally["kills"] += 1
        self.check()

    def check(self) -> None:
        """Nothing acknowledged is missing, replay agrees, every delivery was committed."""
        self.database.check_integrity()
        acks, torn = complete_lines(self.acks)
        self.tally["torn ack lines"] += torn
        versions = dict(self.database.rows("SELECT id, version FROM work_orders"))
        assert [] == [a for a in acks if versions.get(a["order"], 0) < a["version"]]
        new_acks: dict[str, list[dict[str, Any]]] = {}
        for ack in acks[self.acks_read :]:
            new_acks.setdefault(ack["order"], []).append(ack)
        changed = {o for o, version in versions.items() if self.versions.get(o) != version}
        with self.database.store() as store:
            for order_id in changed | new_acks.keys():
                assert [] == list(store.verify_replay(order_id))
                events = store.history(order_id)
                acked = [(a["version"], a["event"]) for a in new_acks.get(order_id, [])]
                assert acked == [(v, type(events[v - 1]).__name__) for v, _ in acked]
        self.acks_read, self.versions = len(acks), versions
        deliveries, torn = complete_lines(self.deliveries)
        self.tally["torn delivery lines"] += torn
        outbox = {row[0]: row for row in self.database.rows(_OUTBOX)}
        fields = ("id", "order_id", "customer_id", "kind", "body")
        assert [] == [d for d in deliveries if tuple(map(d.get, fields)) != outbox.get(d["id"])]

    def finish(self) -> Counter[str]:
        """A last relay run; then every message owed was committed, and delivered."""
        with self.database.store() as store, self.deliveries.open("a", encoding="utf-8") as out:
            # a day later: the leases of killed workers' claims and every retry wait are over
            later = ManualClock(pendulum.now(pendulum.UTC).add(days=1))
            self.tally["sent by the last relay"] = relay(
                store, FileNotifier(out, ManualClock(START)), clock=later
            )
            assert [] == list(store.pending())
            histories = {
                o: store.history(o) for (o,) in self.database.rows("SELECT id FROM work_orders")
            }
        self.versions = {}  # verify every order once more
        self.check()
        owed = {
            operation_key("message", order_id, version, _owed_kind(history, version).value)
            for order_id, history in histories.items()
            for version, event in enumerate(history, start=1)
            if type(event).__name__ in OWED and not _told_by_the_next(history, version)
        }
        outbox = {row[0] for row in self.database.rows(_OUTBOX)}
        deliveries, _ = complete_lines(self.deliveries)
        delivered = Counter(d["id"] for d in deliveries)
        assert owed == outbox  # a message for every committed change, and for no other
        assert outbox == delivered.keys()  # each delivered at least once
        committed = sum(len(history) for history in histories.values())
        self.tally.update(
            {
                "acknowledged commits": self.acks_read,
                "orders": len(histories),
                "events committed": committed,
                "committed, killed before the ack": committed - self.acks_read,
                "messages owed": len(owed),
                "deliveries": len(deliveries),
                "duplicates": len(deliveries) - len(delivered),
                "messages delivered twice or more": sum(n > 1 for n in delivered.values()),
            }
        )
        return self.tally


def kill_many(database: Database, directory: Path, kills: int) -> Counter[str]:
    """`kills` workers killed in turn on `database`; the tallies of the whole trial."""
    seed = os.environ.get("KOMTET_WORKS_KILL_SEED") or str(random.SystemRandom().getrandbits(32))
    trial = Trial(database, directory, seed, random.Random(seed))  # noqa: S311 - not secrets
    print(f"\nkill trial on {database.kind}, KOMTET_WORKS_KILL_SEED={seed}")  # noqa: T201
    put_customers(database.kind, database.name)
    for run in range(kills):
        trial.kill_a_worker(run)
    tally = trial.finish()
    print(dict(tally))  # noqa: T201 - the figures, shown by pytest -s
    return tally


@pytest.mark.rule("L11", "L7")
def test_a_worker_killed_at_random_moments_loses_nothing_on_a_sqlite_file(tmp_path: Path) -> None:
    """SQLite: file intact after every kill, acknowledged commits kept, messages at least once."""
    tally = kill_many(Database("sqlite", str(tmp_path / "orders.sqlite")), tmp_path, KILLS)
    assert 0 < tally["acknowledged commits"] <= tally["events committed"]
    assert 0 < tally["messages owed"] <= tally["deliveries"]


@pytest.mark.postgres
@pytest.mark.rule("L11", "L7")
def test_a_worker_killed_at_random_moments_loses_nothing_on_postgres(
    pg_dsn: str, tmp_path: Path
) -> None:
    """PostgreSQL: acknowledged commits kept, replay agrees, messages at least once."""
    tally = kill_many(Database("postgres", pg_dsn), tmp_path, max(KILLS // 4, 1))
    assert 0 < tally["acknowledged commits"] <= tally["events committed"]
    assert 0 < tally["messages owed"] <= tally["deliveries"]
