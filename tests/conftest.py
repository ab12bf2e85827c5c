import os

from hypothesis import HealthCheck, settings

#: pytester runs the contract kit's plugin in a pytest of its own (tests/unit/test_testing_kit.py)
pytest_plugins = ("pytester",)

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# --- the database servers: PostgreSQL and MariaDB (tests marked `postgres`, `mariadb`) ------
#
# KOMTET_WORKS_PG_DSN names the PostgreSQL server (default: the local trust-auth one);
# MariaDB is root with an empty password on 127.0.0.1:3306.  Without a server its tests
# are deselected and the summary says so; with KOMTET_WORKS_REQUIRE_POSTGRES=1 or
# KOMTET_WORKS_REQUIRE_MARIADB=1 (CI) they run, and fail, instead.

import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Protocol  # noqa: E402

import attrs  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from komtet_works.adapters.database_backups import Database, Engine  # noqa: E402

PG_DSN = os.environ.get("KOMTET_WORKS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
#: How the tests reach MariaDB: its command-line client, as root over TCP.
MARIADB = ("mariadb", "--host=127.0.0.1", "--port=3306", "--user=root", "--batch")


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)


def _pg_unreachable() -> str | None:
    try:
        with _pg_admin():
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _mariadb_unreachable() -> str | None:
    if shutil.which(MARIADB[0]) is None:
        return "the mariadb client is not installed"
    answer = subprocess.run(  # noqa: S603 - the fixed client command
        [*MARIADB, "--connect-timeout=5", "--execute=SELECT 1"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if answer.returncode == 0 else answer.stderr.strip() or "no answer"


@attrs.frozen
class Server:
    """A database server some tests need: their marker, the CI switch, how to ask, a hint."""

    marker: str
    name: str
    required: bool
    unreachable: Callable[[], str | None]
    hint: str
    not_run: pytest.StashKey[str] = attrs.field(factory=pytest.StashKey[str])


SERVERS = (
    Server(
        "postgres",
        "PostgreSQL",
        os.environ.get("KOMTET_WORKS_REQUIRE_POSTGRES") == "1",
        _pg_unreachable,
        "start a server on 127.0.0.1:5432 or set KOMTET_WORKS_PG_DSN",
    ),
    Server(
        "mariadb",
        "MariaDB",
        os.environ.get("KOMTET_WORKS_REQUIRE_MARIADB") == "1",
        _mariadb_unreachable,
        "start a server on 127.0.0.1:3306 (root, empty password)",
    ),
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for server in SERVERS:
        needing = [item for item in items if item.get_closest_marker(server.marker)]
        if not needing or server.required:
            continue
        reason = server.unreachable()
        if reason is None:
            continue
        config.stash[server.not_run] = f"{reason} ({len(needing)} tests deselected)"
        config.hook.pytest_deselected(items=needing)
        items[:] = [item for item in items if not item.get_closest_marker(server.marker)]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = [
        f"{server.name} suite did not run: {reason}; {server.hint}"
        for server in SERVERS
        if (reason := config.stash.get(server.not_run, None)) is not None
    ]
    for line in lines:
        terminalreporter.write_sep("!", line, yellow=True, bold=True)
    # `make test` says it again at its very end, after the coverage and the docs
    report = os.environ.get("KOMTET_WORKS_NOT_RUN_REPORT")
    if report:
        Path(report).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database created for this test run and dropped after it: its DSN."""
    name = f"komtet_test_{secrets.token_hex(6)}"
    try:
        admin = _pg_admin()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is unreachable at {PG_DSN}: {error}")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(PG_DSN, dbname=name)
    finally:
        with _pg_admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_dsn(pg_database: str) -> str:
    """A new empty schema in the run's database, as a DSN whose search_path is that schema."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return make_conninfo(pg_database, options=f"-c search_path={schema}")


# --- a database of each engine, for the backups' tests -----------------------------------

#: What each test's database holds before the backup, as rows to back up.
FILL = (
    "CREATE TABLE pages (id INTEGER PRIMARY KEY, body TEXT)",
    "INSERT INTO pages VALUES (1, 'home'), (2, 'shop ''quoted'''), (3, NULL)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY)",
    "INSERT INTO orders VALUES (10), (11)",
)


class FilledDatabase(Protocol):
    """One engine's test database: run SQL on it, read all of it back."""

    @property
    def database(self) -> Database: ...

    def run(self, *statements: str) -> None: ...

    def contents(self) -> dict[str, list[tuple[str, ...]]]: ...


@attrs.frozen
class Postgres:
    database: Database

    def run(self, *statements: str) -> None:
        with psycopg.connect(self._dsn(), autocommit=True) as db:
            for statement in statements:
                db.execute(statement.encode())

    def contents(self) -> dict[str, list[tuple[str, ...]]]:
        with psycopg.connect(self._dsn(), autocommit=True) as db:
            tables = db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY 1"
            ).fetchall()
            return {
                name: [
                    tuple(map(str, row))
                    for row in db.execute(
                        sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(name))
                    )
                ]
                for (name,) in tables
            }

    def _dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.database.name}"


@attrs.frozen
class Mariadb:
    database: Database

    def run(self, *statements: str) -> None:
        _mariadb(self.database.name, ";\n".join(statements))

    def contents(self) -> dict[str, list[tuple[str, ...]]]:
        tables = _mariadb(self.database.name, "SHOW TABLES").split()
        return {
            name: [
                tuple(line.split("\t"))
                for line in _mariadb(self.database.name, f"SELECT * FROM `{name}` ORDER BY 1")  # noqa: S608
                .strip()
                .splitlines()
                if line
            ]
            for name in sorted(tables)
        }


def _mariadb(database: str, script: str) -> str:
    done = subprocess.run(  # noqa: S603 - the fixed client command
        [*MARIADB, "--skip-column-names", database],
        input=script,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def postgres() -> Iterator[FilledDatabase]:
    """A new PostgreSQL database, filled with FILL; dropped afterwards."""
    name = f"kw_backup_{secrets.token_hex(4)}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    port = int(conninfo_to_dict(PG_DSN).get("port") or 5432)
    server = Postgres(Database(Engine.POSTGRESQL, name, port=port, user="postgres"))
    server.run(*FILL)
    yield server
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def mariadb() -> Iterator[FilledDatabase]:
    """A new MariaDB database, filled with FILL; dropped afterwards."""
    name = f"kw_backup_{secrets.token_hex(4)}"
    _mariadb("", f"CREATE DATABASE {name}")
    server = Mariadb(Database(Engine.MARIADB, name, port=3306, user="root", password=""))
    server.run(*FILL)
    yield server
    _mariadb("", f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def server(request: pytest.FixtureRequest) -> FilledDatabase:
    """Each engine's test database in turn."""
    found: FilledDatabase = request.getfixturevalue(request.param)
    return found
