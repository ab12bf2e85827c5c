"""The relay on real parts: a poisoned message and aiosmtpd, unreadable rows, two workers."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import attrs
import pendulum
import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from komtet_works.adapters import InMemoryNotifier, ManualClock, SmtpNotifier
from komtet_works.adapters.mail import SmtpSecurity
from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sql.stores import SqlWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.keys import operation_key
from komtet_works.domain.money import Money
from komtet_works.ports import CompletionDateFacts, Message, RefundedFacts, WorksStartingFacts
from komtet_works.relay import RelayPolicy, relay
from komtet_works.testing.orders import START, requested

NOW: Final = START.add(hours=1)
#: Three tries a minute apart, then parked: a test's patience.
SHORT: Final = RelayPolicy(max_attempts=3, first_retry=pendulum.duration(minutes=1))


def _messages(order_id: str, customer_id: str = "cust-1", count: int = 1) -> list[Message]:
    """`count` messages (at most 3) about order `order_id`, each of another kind."""
    facts = (
        CompletionDateFacts(NOW.add(days=1)),
        WorksStartingFacts(NOW, NOW.add(days=1)),
        RefundedFacts(Money.of("1000.00"), restored=True),
    )[:count]
    return [
        Message(operation_key("message", order_id, 1, f.kind.value), order_id, customer_id, f)
        for f in facts
    ]


def _save(store: SqlWorkOrders, order_id: str, messages: list[Message]) -> None:
    customer_id = messages[0].customer_id if messages else "cust-1"
    store.save(requested(order_id, customer_id=customer_id), expected_version=0, messages=messages)


# --- a poisoned message, and a mail server that refuses one for good -------------------------


@attrs.define
class Inbox:
    """An aiosmtpd handler that refuses one recipient for good and keeps the rest."""

    refused: str
    received: list[Envelope] = attrs.Factory(list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        return "250 OK queued"


@pytest.fixture(name="inbox")
def fixture_inbox() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1, refusing the mailbox of customer ``gone``."""
    inbox = Inbox(refused="gone@customers.invalid")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.mark.rule("N4", "N5", "D-RELAY-RETRIES")
def test_the_relay_gets_past_a_poisoned_message_and_delivers_the_rest(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    """An order id of 1,000 characters goes out; the mailbox the server refuses for good is
    parked after three tries; every other message arrives once."""
    server, port = inbox
    clock = ManualClock(NOW)
    smtp = SmtpNotifier("127.0.0.1", port, clock, security=SmtpSecurity.NONE, timeout=5)
    long_id = "wo-" + "x" * 1000
    with SqliteWorkOrders(tmp_path / "works.sqlite", migrate=True) as store:
        _save(store, "wo-1", _messages("wo-1"))
        _save(store, "wo-gone", _messages("wo-gone", customer_id="gone"))
        _save(store, long_id, _messages(long_id))
        _save(store, "wo-2", _messages("wo-2"))
        sent = []
        for _ in range(SHORT.max_attempts):
            sent.append(relay(store, smtp, clock=clock, policy=SHORT))
            clock.advance(SHORT.longest_retry)
        assert [3, 0, 0] == sent
        assert [] == list(store.pending())
        [dead] = store.dead_letters()
        assert ("wo-gone", SHORT.max_attempts) == (dead.order_id, dead.attempts)
        assert dead.error.startswith("NotificationFailed: could not send message")
        assert "gone@" not in dead.error
    assert 3 == len(server.received)
    assert [["cust-1@customers.invalid"]] * 3 == [e.rcpt_tos for e in server.received]


# --- rows that cannot be read ------------------------------------------------------------------


def _garbage_rows(store: SqlWorkOrders) -> None:
    """Queue a message for each of three orders; the caller spoils the first two rows."""
    _save(store, "wo-prose", _messages("wo-prose"))
    _save(store, "wo-garbage", _messages("wo-garbage"))
    _save(store, "wo-good", _messages("wo-good"))


PROSE: Final = "the works are complete; claims can be filed until 2026-12-04 18:10:37+00:00"


@pytest.mark.rule("N5")
def test_a_stored_message_that_cannot_be_read_is_parked_at_once_on_sqlite(
    tmp_path: Path,
) -> None:
    """An old prose row and a row of an unknown kind are dead at once; the good one goes."""
    path = tmp_path / "works.sqlite"
    with SqliteWorkOrders(path, migrate=True) as store:
        _garbage_rows(store)
        with closing(sqlite3.connect(path)) as db, db:
            db.execute("UPDATE outbox SET body = ? WHERE order_id = 'wo-prose'", (PROSE,))
            db.execute("UPDATE outbox SET kind = 'telegram' WHERE order_id = 'wo-garbage'")
        _check_unreadable_parked(store)


@pytest.mark.postgres
@pytest.mark.rule("N5")
def test_a_stored_message_that_cannot_be_read_is_parked_at_once_on_postgres(
    pg_dsn: str,
) -> None:
    """The same on PostgreSQL."""
    with PostgresWorkOrders(pg_dsn, migrate=True) as store:
        _garbage_rows(store)
        with psycopg.connect(pg_dsn, autocommit=True) as db:
            db.execute("UPDATE outbox SET body = %s WHERE order_id = 'wo-prose'", (PROSE,))
            db.execute("UPDATE outbox SET kind = 'telegram' WHERE order_id = 'wo-garbage'")
        _check_unreadable_parked(store)


def _check_unreadable_parked(store: SqlWorkOrders) -> None:
    clock = ManualClock(NOW)
    notifier = InMemoryNotifier(clock)
    assert [_messages("wo-good")[0]] == list(store.pending())
    assert 1 == relay(store, notifier, clock=clock)
    assert ["wo-good"] == [m.order_id for _, m in notifier.sent]
    dead = store.dead_letters()
    assert [("wo-prose", 0), ("wo-garbage", 0)] == [(d.order_id, d.attempts) for d in dead]
    assert {"InvalidInput", "ValueError"} == {d.error.split(":")[0] for d in dead}
    assert {NOW} == {d.dead_at for d in dead}


# --- several relay workers on PostgreSQL ----------------------------------------------------


class SlowRecorder:
    """A notifier shared by the workers: it records each send (thread-safe), a little slowly."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._lock = threading.Lock()

    def send(self, message: Message) -> datetime:
        time.sleep(0.001)
        with self._lock:
            self.sent.append(message)
        return pendulum.now(pendulum.UTC)


def _workers(open_store: Callable[[], SqlWorkOrders], notifier: SlowRecorder) -> list[int]:
    """Two relays side by side, each on its own connection, in small batches."""
    counts = [0, 0]
    start = threading.Barrier(2)

    def work(number: int) -> None:
        with open_store() as store:
            start.wait()
            counts[number] = relay(store, notifier, batch=7)

    threads = [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return counts


@pytest.mark.postgres
@pytest.mark.rule("N6")
def test_two_relay_workers_on_postgres_send_each_message_once_in_order(pg_dsn: str) -> None:
    """300 messages of 100 orders, two relays at once: each sent exactly once, both workers
    did some, and each order's three messages went out in order."""
    with PostgresWorkOrders(pg_dsn, migrate=True) as store:
        for number in range(100):
            _save(store, f"wo-{number}", _messages(f"wo-{number}", count=3))
    notifier = SlowRecorder()
    counts = _workers(lambda: PostgresWorkOrders(pg_dsn), notifier)
    ids = [m.id for m in notifier.sent]
    assert (300, 300) == (len(ids), len(set(ids)))
    assert 300 == sum(counts)
    assert 0 not in counts
    for number in range(100):
        order = [m.id for m in notifier.sent if m.order_id == f"wo-{number}"]
        assert [m.id for m in _messages(f"wo-{number}", count=3)] == order
