import os

from hypothesis import HealthCheck, settings

#: pytester runs the contract kit's plugin in a pytest of its own (tests/unit/test_testing_kit.py)
pytest_plugins = ("pytester",)

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# --- PostgreSQL: a throwaway database per test run (tests marked `postgres`) ------------------
#
# KOMTET_WORKS_PG_DSN names the server (default: the local trust-auth one).  Without a
# server the postgres tests are deselected and the summary says so; with
# KOMTET_WORKS_REQUIRE_POSTGRES=1 (CI) they run, and fail, instead.

import secrets  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

PG_DSN = os.environ.get("KOMTET_WORKS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_REQUIRED = os.environ.get("KOMTET_WORKS_REQUIRE_POSTGRES") == "1"
_PG_NOT_RUN = pytest.StashKey[str]()


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)


def _pg_unreachable() -> str | None:
    try:
        with _pg_admin():
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    postgres = [item for item in items if item.get_closest_marker("postgres")]
    if not postgres or PG_REQUIRED:
        return
    reason = _pg_unreachable()
    if reason is None:
        return
    config.stash[_PG_NOT_RUN] = f"{reason} ({len(postgres)} tests deselected)"
    config.hook.pytest_deselected(items=postgres)
    items[:] = [item for item in items if not item.get_closest_marker("postgres")]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    reason = config.stash.get(_PG_NOT_RUN, None)
    if reason is not None:
        terminalreporter.write_sep(
            "!",
            f"PostgreSQL suite did not run: {reason}; start a server on 127.0.0.1:5432 "
            "or set KOMTET_WORKS_PG_DSN",
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
