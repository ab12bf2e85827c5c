"""The hosts' queries read work_orders through an index, never by a full scan (issue 12).

The closing and overdue queries and the listings by customer and by state are read from
each database's own planner (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN), on the
statements exactly as the stores render them.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Final

import pendulum
import psycopg
import pytest

from komtet_works.adapters.postgres import PostgresWorkOrders
from komtet_works.adapters.sql.dialect import POSTGRES, SQLITE, Dialect
from komtet_works.adapters.sql.statements import TEMPLATES
from komtet_works.adapters.sqlite import SqliteWorkOrders

NOW: Final = pendulum.datetime(2026, 3, 2, 10, tz="UTC")
#: Each query of the stores that a host's job or listing runs (and starting works).
QUERIES: Final = (
    "claim_window_ended",
    "overdue",
    "by_customer",
    "by_state",
    "by_customer_page",
    "by_state_page",
    "on_target_in",
)


def parameters(query: str, dialect: Dialect) -> tuple[object, ...]:
    """The parameters `query` takes, as its store binds them."""
    if query == "by_customer":
        return ("cust-1",)
    if query == "by_state":
        return (dialect.text_list(["paid", "scheduled"]),)
    if query == "by_customer_page":  # a page of 50 after the order at position 1,000
        return ("cust-1", 1_000, 50)
    if query == "by_state_page":
        return ("claimed", 1_000, 50)
    if query == "on_target_in":
        return ("site", "example.org", dialect.text_list(["in_progress"]))
    return (dialect.instant(NOW),)


def sqlite_plan(path: Path, query: str) -> list[str]:
    statement = getattr(TEMPLATES.rendered(SQLITE), query)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters(query, SQLITE))
        return [str(row[3]) for row in rows]


@pytest.mark.parametrize("query", QUERIES)
def test_sqlite_finds_the_orders_of_a_query_through_an_index(tmp_path: Path, query: str) -> None:
    """SQLite's plan searches work_orders with one of its indexes and scans it nowhere."""
    path = tmp_path / "orders.sqlite"
    SqliteWorkOrders(path, migrate=True).close()
    plan = sqlite_plan(path, query)
    on_orders = [step for step in plan if step.split()[1:2] == ["o"]]
    assert [] == [step for step in on_orders if not step.startswith("SEARCH o USING ")]
    assert [] != [step for step in on_orders if "INDEX work_orders_by_" in step]
    assert [] == [step for step in plan if step.startswith(("SCAN o", "SCAN e"))]
    if query.endswith("_page"):  # read in the index's order: a page costs its own rows
        assert [] == [step for step in plan if "TEMP B-TREE" in step]


@pytest.mark.postgres
@pytest.mark.parametrize("query", QUERIES)
def test_postgres_can_find_the_orders_of_a_query_through_an_index(pg_dsn: str, query: str) -> None:
    """With sequential scans priced out, PostgreSQL's plan reads work_orders by an index.

    On a table this small the planner would rightly pick a sequential scan; turning
    sequential scans off asks whether an index can serve the query at all (it falls back
    to a sequential scan when none can, which the test would see).
    """
    PostgresWorkOrders(pg_dsn, migrate=True).close()
    statement = getattr(TEMPLATES.rendered(POSTGRES), query)
    with psycopg.connect(pg_dsn) as db:
        db.execute("SET enable_seqscan = off")
        rows = db.execute(f"EXPLAIN {statement}", parameters(query, POSTGRES)).fetchall()
    plan = [str(row[0]) for row in rows]
    assert [] == [step for step in plan if "Seq Scan on work_orders" in step]
    # by_state may be served by the index that leads with the state (work_orders_queue)
    indexes = ("work_orders_by_", "work_orders_queue")
    assert [] != [step for step in plan if any(index in step for index in indexes)]


#: The suggestion's queues (rule L4, D-URGENCY) and the partial index each must read.
QUEUES: Final = {
    "queued_hours": "work_orders_queue",
    "urgent_queued_hours": "work_orders_urgent_queue",
}


@pytest.mark.rule("L4")
@pytest.mark.parametrize(("query", "index"), QUEUES.items())
def test_sqlite_sums_the_queue_from_its_covering_index(
    tmp_path: Path, query: str, index: str
) -> None:
    """The suggestion's queue is read from a partial covering index of the queued orders
    alone: neither the table nor the events (issue 12)."""
    path = tmp_path / "orders.sqlite"
    SqliteWorkOrders(path, migrate=True).close()
    statement = getattr(TEMPLATES.rendered(SQLITE), query)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {statement}", ("wo-1",)).fetchall()
    plan = [str(row[3]) for row in rows]
    assert [] != plan
    assert [] == [step for step in plan if f"COVERING INDEX {index} " not in f"{step} "]


@pytest.mark.postgres
@pytest.mark.rule("L4")
@pytest.mark.parametrize(("query", "index"), QUEUES.items())
def test_postgres_can_sum_the_queue_from_its_index(pg_dsn: str, query: str, index: str) -> None:
    """With sequential scans priced out, PostgreSQL sums the queue from its partial index."""
    PostgresWorkOrders(pg_dsn, migrate=True).close()
    statement = getattr(TEMPLATES.rendered(POSTGRES), query)
    with psycopg.connect(pg_dsn) as db:
        db.execute("SET enable_seqscan = off")
        rows = db.execute(f"EXPLAIN {statement}", ("wo-1",)).fetchall()
    plan = [str(row[0]) for row in rows]
    assert [] == [step for step in plan if "Seq Scan on work_orders" in step]
    assert [] != [step for step in plan if f"{index} " in f"{step} "]
