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

import attrs  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

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
    for server in SERVERS:
        reason = config.stash.get(server.not_run, None)
        if reason is not None:
            terminalreporter.write_sep(
                "!",
                f"{server.name} suite did not run: {reason}; {server.hint}",
                yellow=True,
                bold=True,
            )


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
