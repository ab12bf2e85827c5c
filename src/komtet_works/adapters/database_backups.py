"""Backups of a target's database: PostgreSQL through pg_dump/pg_restore, MariaDB through
mariadb-dump and the mariadb client.

The host says which database each target has (`Database`: the engine, the name and how to
connect, as data), by a mapping or a callable; a target it maps to None has no database,
and its backup is a sealed record saying so.  Passwords never reach a command line:
PostgreSQL's tools get them in ``PGPASSWORD``, MariaDB's in an option file of mode 0600
that lives only while the tool runs.

A snapshot streams the dump into ``<backup_root>/<reference>/dump``, hashing it, within a
size and a time cap, and seals its digest (`komtet_works.adapters.backup_store`).  A
restore reads the dump through one descriptor, checks it against the seal, and then:

- PostgreSQL: one transaction drops every schema of the database and replays the dump
  (``pg_restore -f -`` fed to ``psql``); COMMIT is sent only after pg_restore has read the
  whole dump, so a failed or killed restore leaves the database as it was;
- MariaDB: the dump (made with ``--databases --add-drop-database``) drops and recreates the
  database; its DDL is not transactional, so a restore that fails part way is
  `RestoreFailed` with the database to be restored again (decision D-DATABASE-BACKUPS).
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

import attrs

from komtet_works.adapters.backup_store import BackupStore, Record, refuse_another_customer
from komtet_works.adapters.trees import (
    Budget,
    Limits,
    TreeRefused,
    removed_on_failure,
    write_all,
)
from komtet_works.domain.customers import Target, TargetKind
from komtet_works.domain.errors import BackupFailed, InvalidInput, RestoreFailed
from komtet_works.ports import Backups

__all__ = ["Database", "DatabaseBackups", "Engine"]

_KIND: Final = "database"
_DUMP: Final = "dump"
_BLOCK: Final = 1 << 20
_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_$]{0,62}")
#: What the restore of PostgreSQL runs first, in its transaction: the database emptied.
_EMPTY_POSTGRES: Final = """BEGIN;
SET client_min_messages = warning;
DO $$DECLARE s name;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public AUTHORIZATION pg_database_owner;
  GRANT USAGE ON SCHEMA public TO PUBLIC;
END$$;
"""


class Engine(enum.Enum):
    POSTGRESQL = "postgresql"
    MARIADB = "mariadb"


def _database_name(_instance: object, _attribute: object, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"{name!r} is not a database name this adapter takes", field="name")


@attrs.frozen
class Database:
    """A target's database and how to reach it; the password is never shown in a repr."""

    engine: Engine
    name: str = attrs.field(validator=_database_name)
    host: str = "127.0.0.1"
    port: int | None = None
    user: str | None = None
    password: str | None = attrs.field(default=None, repr=False)


Databases = Mapping[str, "Database | None"] | Callable[[Target], "Database | None"]


class DatabaseBackups(Backups):
    """Dumps of each target's database (as `databases` maps it), kept under `backup_root`,
    sealed with the provider's `key`, each within `limits`."""

    def __init__(
        self,
        *,
        databases: Databases,
        backup_root: str | Path,
        key: bytes,
        limits: Limits = Limits(),  # noqa: B008 - a frozen value
    ) -> None:
        self._databases = databases
        self.limits = limits
        self._store = BackupStore(backup_root, key)

    def database_of(self, target: Target) -> Database | None:
        """The database the host maps `target` to, if any."""
        if callable(self._databases):
            return self._databases(target)
        return self._databases.get(target.name)

    def snapshot(self, target: Target, *, order_id: str, customer_id: str) -> str:
        with self._refusing(f"could not back up the database of {target}", BackupFailed):
            database = self.database_of(target)
            reference = self._store.claim(order_id)
            with removed_on_failure(self._store.place(reference)) as kept:
                dump = None
                if database is not None:
                    dump = _dump(database, kept / _DUMP, self.limits.budget())
                self._store.seal(reference, _record(target, order_id, customer_id, database, dump))
            return reference

    def verify(self, reference: str) -> bool:
        try:
            with self._store.locked():
                record = self._store.record(reference, _KIND)
                return record is not None and self._dump_matches(reference, record)
        except (OSError, TreeRefused, InvalidInput):
            return False

    def restore(self, reference: str, *, customer_id: str) -> None:
        with self._refusing(f"could not restore backup {reference!r}", RestoreFailed):
            record = self._store.record(reference, _KIND)
            if record is None:
                raise TreeRefused("it is missing, or it is not as it was sealed")
            refuse_another_customer(record, customer_id)
            target = Target(TargetKind(record["target_kind"]), record["target"])
            database = self.database_of(target)
            if _identity(database) != record["database"]:
                raise TreeRefused(f"{target} has another database than when it was backed up")
            if database is None:
                return
            with (self._store.place(reference) / _DUMP).open("rb") as dump:
                if _digest_of(dump, self.limits.budget()) != record["dump"]:
                    raise TreeRefused("its dump is not as it was sealed")
                dump.seek(0)
                _restore(database, dump, self.limits.budget())

    def discard(self, reference: str) -> None:
        """Remove backup `reference` (the composite backups' undo of a half-taken one)."""
        with self._refusing(f"could not remove backup {reference!r}", BackupFailed):
            self._store.discard(reference)

    def _dump_matches(self, reference: str, record: Record) -> bool:
        if record["dump"] is None:
            return True
        with (self._store.place(reference) / _DUMP).open("rb") as dump:
            return bool(_digest_of(dump, self.limits.budget()) == record["dump"])

    @contextmanager
    def _refusing(self, failure: str, error: type[BackupFailed | RestoreFailed]) -> Iterator[None]:
        """The store's lock held; what goes wrong raised as `error`, the `failure` said first."""
        try:
            with self._store.locked():
                yield
        except (OSError, TreeRefused, InvalidInput) as problem:
            detail = problem.strerror if isinstance(problem, OSError) else str(problem)
            raise error(f"{failure}: {detail or problem}") from None


def _identity(database: Database | None) -> dict[str, str] | None:
    """What a backup's record says of the database it holds: its engine and name."""
    return None if database is None else {"engine": database.engine.value, "name": database.name}


def _record(
    target: Target,
    order_id: str,
    customer_id: str,
    database: Database | None,
    dump: dict[str, object] | None,
) -> Record:
    return {
        "kind": _KIND,
        "target": target.name,
        "target_kind": target.kind.value,
        "order_id": order_id,
        "customer_id": customer_id,
        "database": _identity(database),
        "dump": dump,
    }


def _digest_of(
    content: IO[bytes], budget: Budget, copy: IO[bytes] | None = None
) -> dict[str, object]:
    """The SHA-256 and size of what `content` holds from where it is (copied to `copy`)."""
    sha, size = hashlib.sha256(), 0
    while block := content.read(_BLOCK):
        budget.spend(len(block), "the dump")
        sha.update(block)
        size += len(block)
        if copy is not None:
            copy.write(block)
    return {"sha256": sha.hexdigest(), "bytes": size}


# --- running the engines' tools ---------------------------------------------------------------


def _dump(database: Database, path: Path, budget: Budget) -> dict[str, object]:
    """Run the engine's dump into `path`; its digest.  Killed past the budget."""
    with _client(database) as (options, env), path.open("xb") as out:
        command = (
            ["pg_dump", *options, "--format=custom"]
            if database.engine is Engine.POSTGRESQL
            else ["mariadb-dump", *options, *_MARIADB_DUMP, database.name]
        )
        with _running(command, env, budget, stdout=subprocess.PIPE) as dumper:
            digest = _digest_of(_pipe(dumper.process.stdout), budget, out)
        out.flush()
        os.fsync(out.fileno())
    return digest


def _restore(database: Database, dump: IO[bytes], budget: Budget) -> None:
    with _client(database) as (options, env):
        if database.engine is Engine.MARIADB:
            with _running(["mariadb", *options], env, budget, stdin=dump):
                return
        psql = ["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
        script = ["pg_restore", "--clean", "--if-exists", "--file=-"]
        with _running(psql, env, budget, stdin=subprocess.PIPE) as replay:
            into = _pipe(replay.process.stdin).fileno()
            try:
                write_all(into, _EMPTY_POSTGRES.encode())
                with _running(script, env, budget, stdin=dump, stdout=subprocess.PIPE) as dumped:
                    while block := _pipe(dumped.process.stdout).read(_BLOCK):
                        budget.tick()
                        write_all(into, block)
                write_all(into, b"\nCOMMIT;\n")  # only once pg_restore read the whole dump
            except BrokenPipeError:  # psql stopped at an error: it says which
                replay.process.wait()
                raise TreeRefused(replay.failure()) from None


#: mariadb-dump's options: a consistent snapshot of everything, that drops and recreates.
_MARIADB_DUMP: Final = (
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    "--add-drop-database",
    "--databases",
)


@contextmanager
def _client(database: Database) -> Iterator[tuple[list[str], dict[str, str]]]:
    """How to run a client of `database`: the options that follow the tool's name (an option
    file for MariaDB, none for PostgreSQL), and the environment (PostgreSQL's settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL", "MARIADB"))}
    if database.engine is Engine.POSTGRESQL:
        env |= {"PGHOST": database.host, "PGDATABASE": database.name, "PGCONNECT_TIMEOUT": "10"}
        env |= {"PGPORT": str(database.port)} if database.port else {}
        env |= {"PGUSER": database.user} if database.user else {}
        env |= {"PGPASSWORD": database.password} if database.password is not None else {}
        yield [], env
        return
    lines = ["[client]", f"host={database.host}"]
    lines += [f"port={database.port}"] if database.port else []
    lines += [f"user={_option(database.user)}"] if database.user else []
    lines += [f"password={_option(database.password)}"] if database.password is not None else []
    with tempfile.NamedTemporaryFile("w", prefix="komtet-", suffix=".cnf") as options:
        options.write("\n".join(lines) + "\n")
        options.flush()
        yield [f"--defaults-file={options.name}"], env


def _option(value: str) -> str:
    """`value` quoted for a MariaDB option file."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """The pipe Popen was asked for (its stdin or stdout=PIPE)."""
    if stream is None:  # pragma: no cover - every caller asked for the pipe
        raise AssertionError("no pipe")
    return stream


@attrs.frozen
class _Run:
    """A tool running, and where its errors go."""

    tool: str
    process: subprocess.Popen[bytes]
    errors: IO[bytes]

    def failure(self) -> str:
        """The tool's first line of errors, or its exit code."""
        self.errors.seek(0)
        said = self.errors.read().decode(errors="replace").strip().splitlines()
        return f"{self.tool} failed: {said[0] if said else self.process.returncode}"


@contextmanager
def _running(
    command: Sequence[str],
    env: Mapping[str, str],
    budget: Budget,
    *,
    stdin: IO[bytes] | int | None = None,
    stdout: int | None = None,
) -> Iterator[_Run]:
    """`command` running for the block, killed when the budget's time is up; after the block
    it must have ended well, or its first line of errors is `TreeRefused`."""
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(  # noqa: S603 - our tools, arguments from validated data
            command, stdin=stdin, stdout=stdout, stderr=errors, env=dict(env), bufsize=0
        ) as process,
    ):
        watchdog = threading.Timer(max(0.0, budget.deadline - time.monotonic()), process.kill)
        watchdog.start()
        try:
            yield _Run(command[0], process, errors)
            if process.stdin is not None:
                process.stdin.close()
            code = process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
        budget.tick()
        if code != 0:
            raise TreeRefused(_Run(command[0], process, errors).failure())
