"""The composition root wires the same service in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from komtet_works import bootstrap
from komtet_works.adapters.memory import ManualClock
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import SchemaNotMigrated
from komtet_works.domain.lifecycle import State
from komtet_works.entrypoints.cli import main
from komtet_works.testing.orders import START

ALICE = Customer("alice", sites=frozenset({"alice.ru"}))


def _walk_to_estimated(wiring: bootstrap.Wiring) -> State:
    service = wiring.service
    service.request(order_id="o1", customer_id="alice", target="alice.ru", problem="down")
    return service.estimate("o1", staff_id="sam", hours="1").state


def test_in_memory_wires_a_working_service() -> None:
    """The in-memory service takes an order from request to estimate with the host's clock."""
    wiring = bootstrap.in_memory(customers=[ALICE], clock=ManualClock(START))
    assert State.ESTIMATED == _walk_to_estimated(wiring)
    assert START == wiring.orders.history("o1")[0].at


def test_on_sqlite_migrates_only_when_asked(tmp_path: Path) -> None:
    """Without migrate the file has no tables; Wiring.migrate() makes the service work."""
    path = tmp_path / "works.sqlite"
    with bootstrap.on_sqlite(path, clock=ManualClock(START)) as wiring:
        with pytest.raises(SchemaNotMigrated):
            wiring.customers.put(ALICE)
        wiring.migrate()
        wiring.customers.put(ALICE)
        assert State.ESTIMATED == _walk_to_estimated(wiring)
    with bootstrap.on_database(str(path), clock=ManualClock(START)) as again:
        assert State.ESTIMATED == again.orders.get("o1").state


@pytest.mark.postgres
def test_on_postgres_uses_the_hosts_connection_and_schema(pg_dsn: str) -> None:
    """On the host's connection, in the host's schema; the connection stays open after."""
    with psycopg.connect(pg_dsn, autocommit=True) as host:
        wiring = bootstrap.on_postgres(host, schema="works", migrate=True, clock=ManualClock(START))
        wiring.customers.put(ALICE)
        assert State.ESTIMATED == _walk_to_estimated(wiring)
        wiring.close()
        row = host.execute("SELECT count(*) FROM works.work_orders").fetchone()
        assert (1,) == row


def test_the_database_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """KOMTET_WORKS_DB names the database when --db is not given."""
    path = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("KOMTET_WORKS_DB", str(path))
    monkeypatch.chdir(tmp_path)
    assert 0 == main(["customer-add", "alice", "--site", "alice.ru"])
    capsys.readouterr()
    assert path.exists()


def test_customer_text_is_escaped_on_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An escape sequence in a problem is shown as text: it never reaches the terminal."""
    db = ["--db", str(tmp_path / "w.sqlite")]
    dirs = [f"--sites-root={tmp_path}", f"--mail-dir={tmp_path / 'mail'}"]
    assert 0 == main([*db, "customer-add", "alice", "--site", "alice.ru", *dirs])
    problem = "red \x1b[31mALERT\x1b[0m \u202eevil"
    argv = ["request", "o1", "--customer", "alice", "--target", "alice.ru"]
    assert 0 == main([*db, *argv, "--problem", problem, *dirs])
    capsys.readouterr()
    assert 0 == main([*db, "show", "o1", *dirs])
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert r"red \x1b[31mALERT\x1b[0m \u202eevil" in out


def test_json_covers_refusals_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --json a refusal is one JSON document on stdout, with its code."""
    db = ["--db", str(tmp_path / "w.sqlite")]
    assert 1 == main([*db, "show", "nobody", "--json", f"--mail-dir={tmp_path}"])
    out = capsys.readouterr().out
    assert '"error": "unknown_order"' in out
