"""The outbox dates a message by its batch's steps, comparing instants, not their texts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pendulum
import psycopg
import pytest

from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sqlite import SqliteWorkOrders
from komtet_works.domain.errors import InvalidInput
from komtet_works.ports import CompletionDateFacts, Message
from komtet_works.testing.orders import requested

Store = SqliteWorkOrders | PostgresWorkOrders
#: The (message id, created_at) rows of the store's outbox, read on a connection of its own.
CreatedAt = Callable[[], dict[str, datetime]]

#: 12:00 at UTC+3 is 09:00 UTC: its text sorts after 10:00 UTC's, the instant before it.
EAST = pendulum.datetime(2026, 3, 2, 12, tz=pendulum.FixedTimezone(3 * 3600))
WEST = pendulum.datetime(2026, 3, 2, 10, tz=pendulum.UTC)


def _message(order_id: str) -> Message:
    return Message(f"m-{order_id}", order_id, "cust-1", CompletionDateFacts(WEST))


@pytest.fixture(
    name="store_and_created_at",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fixture_store_and_created_at(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, CreatedAt]]:
    """A new store, and a reader of its outbox's created_at column."""
    store: Store
    if request.param == "sqlite":
        path = tmp_path / "orders.sqlite"
        store = SqliteWorkOrders(path, migrate=True)

        def read() -> dict[str, datetime]:
            with closing(sqlite3.connect(path)) as db:
                rows = db.execute("SELECT id, created_at FROM outbox").fetchall()
            return {i: datetime.fromisoformat(at) for i, at in rows}
    else:
        dsn: str = request.getfixturevalue("pg_dsn")
        store = PostgresWorkOrders(dsn, migrate=True)

        def read() -> dict[str, datetime]:
            with psycopg.connect(dsn) as db:
                rows = db.execute("SELECT id, created_at FROM outbox").fetchall()
            return {str(i): at for i, at in rows}

    with store:
        yield store, read


def test_a_message_about_an_order_outside_the_batch_gets_the_latest_instant(
    store_and_created_at: tuple[Store, CreatedAt],
) -> None:
    """Across UTC offsets the latest step is the latest instant, not the greatest text."""
    store, created_at = store_and_created_at
    store.save(requested("wo-else"), expected_version=0)
    east, west = requested("wo-east", at=EAST), requested("wo-west", at=WEST)
    store.save_many([(east, 0), (west, 0)], messages=[_message("wo-east"), _message("wo-else")])
    assert {"m-wo-east": EAST, "m-wo-else": WEST} == created_at()


def test_messages_with_no_order_in_the_batch_are_refused(
    store_and_created_at: tuple[Store, CreatedAt],
) -> None:
    """An empty batch cannot date its messages: InvalidInput, and nothing is queued."""
    store, created_at = store_and_created_at
    store.save(requested("wo-else"), expected_version=0)
    with pytest.raises(InvalidInput):
        store.save_many([], messages=[_message("wo-else")])
    assert {} == created_at()
    assert [] == list(store.pending())
