"""DatabaseBackups and the composite against the real servers: dump, change, restore, compare."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import FilledDatabase, Postgres
from komtet_works import BackupFailed, InvalidInput, RestoreFailed, Target, TargetKind
from komtet_works.adapters import database_backups
from komtet_works.adapters.composite import SiteAndDatabaseBackups
from komtet_works.adapters.database_backups import Database, DatabaseBackups, Engine
from komtet_works.adapters.filesystem import FilesystemBackups, Limits, manifest_of
from komtet_works.testing.backups import CUSTOMER

SHOP = Target(TargetKind.SITE, "shop.example")
KEY = b"the provider's key, 32 bytes...."

#: The works' changes after the backup.
WORKS = (
    "UPDATE pages SET body = 'broken by a module' WHERE id = 1",
    "DROP TABLE orders",
    "CREATE TABLE module_cache (k TEXT)",
)


def _backups(server: FilledDatabase, tmp_path: Path, **options: Any) -> DatabaseBackups:
    return DatabaseBackups(
        databases={SHOP.name: server.database}, backup_root=tmp_path / "dumps", key=KEY, **options
    )


@pytest.mark.rule("D-DATABASE-BACKUPS")
def test_a_restore_gives_back_the_database_as_it_was_backed_up(
    server: FilledDatabase, tmp_path: Path
) -> None:
    """Dump, let the works change rows and drop and add tables, restore: as it was."""
    backups = _backups(server, tmp_path)
    before = server.contents()
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert backups.verify(reference)
    server.run(*WORKS)
    assert before != server.contents()
    backups.restore(reference, customer_id=CUSTOMER)
    assert before == server.contents()


@pytest.mark.rule("D-BACKUP-CUSTOMER", "D-DATABASE-BACKUPS")
def test_a_dump_is_restored_only_for_its_customer(server: FilledDatabase, tmp_path: Path) -> None:
    """A restore of a database backup for another customer than the seal names is
    restore_failed; the database stays as the works left it."""
    backups = _backups(server, tmp_path)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    server.run(*WORKS)
    after_works = server.contents()
    with pytest.raises(RestoreFailed, match="another customer"):
        backups.restore(reference, customer_id="cust-new")
    assert after_works == server.contents()


@pytest.mark.rule("D-BACKUP-SEAL", "D-DATABASE-BACKUPS")
def test_a_tampered_dump_neither_verifies_nor_restores(
    server: FilledDatabase, tmp_path: Path
) -> None:
    """One byte of the dump changed: not verified, restore_failed, the database untouched."""
    backups = _backups(server, tmp_path)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    server.run(*WORKS)
    after_works = server.contents()
    dump = tmp_path / "dumps" / reference / "dump"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 1
    dump.write_bytes(bytes(content))
    assert not backups.verify(reference)
    with pytest.raises(RestoreFailed, match="not as it was sealed"):
        backups.restore(reference, customer_id=CUSTOMER)
    assert after_works == server.contents()


@pytest.mark.rule("D-DATABASE-BACKUPS")
def test_a_dump_over_the_size_cap_is_backup_failed_and_leaves_nothing(
    server: FilledDatabase, tmp_path: Path
) -> None:
    """A 100-byte cap: the dump is stopped, backup_failed, no backup kept."""
    backups = _backups(server, tmp_path, limits=Limits(max_bytes=100))
    with pytest.raises(BackupFailed, match="more than the 100 bytes allowed"):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [".lock"] == [p.name for p in (tmp_path / "dumps").iterdir()]


@pytest.mark.postgres
@pytest.mark.rule("D-DATABASE-BACKUPS")
def test_a_restore_that_fails_part_way_leaves_postgresql_as_it_was(
    postgres: FilledDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_restore fails after psql emptied the database: no COMMIT, nothing changed."""
    backups = _backups(postgres, tmp_path)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    postgres.run(*WORKS)
    after_works = postgres.contents()
    monkeypatch.setattr(
        database_backups,
        "_EMPTY_POSTGRES",
        database_backups._EMPTY_POSTGRES + "SELECT 1/0;\n",
    )
    with pytest.raises(RestoreFailed, match=r"psql failed: .*division by zero"):
        backups.restore(reference, customer_id=CUSTOMER)
    assert after_works == postgres.contents()


@pytest.mark.postgres
def test_a_database_that_does_not_answer_is_backup_failed(tmp_path: Path) -> None:
    """No such database on the server: backup_failed with pg_dump's reason, nothing kept."""
    backups = DatabaseBackups(
        databases={SHOP.name: Database(Engine.POSTGRESQL, "kw_no_such_db", user="postgres")},
        backup_root=tmp_path / "dumps",
        key=KEY,
    )
    with pytest.raises(BackupFailed, match=r'pg_dump failed: .*"kw_no_such_db" does not exist'):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [".lock"] == [p.name for p in (tmp_path / "dumps").iterdir()]


@pytest.mark.rule("D-DATABASE-BACKUPS")
def test_passwords_never_reach_a_command_line(
    server: FilledDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """A password in the connection data: absent from every argv the adapter runs."""
    password = "s3cret-" + secrets.token_hex(4)
    if isinstance(server, Postgres):
        database = Database(Engine.POSTGRESQL, server.database.name, user="postgres")
    else:
        server.run(f"CREATE OR REPLACE USER kw_site IDENTIFIED BY '{password}'")
        server.run("GRANT ALL ON *.* TO kw_site")
        request.addfinalizer(lambda: server.run("DROP USER IF EXISTS kw_site"))
        database = Database(Engine.MARIADB, server.database.name, user="kw_site")
    database = Database(database.engine, database.name, user=database.user, password=password)
    seen: list[list[str]] = []
    real = subprocess.Popen

    def recording(argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
        seen.append(list(argv))
        return real(argv, **options)

    monkeypatch.setattr(subprocess, "Popen", recording)
    backups = DatabaseBackups(databases={SHOP.name: database}, backup_root=tmp_path, key=KEY)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    backups.restore(reference, customer_id=CUSTOMER)
    assert [] == [argv for argv in seen if any(password in part for part in argv)]
    assert seen
    assert password not in repr(database)


def test_a_target_without_a_database_has_an_empty_backup(tmp_path: Path) -> None:
    """The host maps the target to None: the backup verifies and restores nothing."""
    backups = DatabaseBackups(databases=lambda _target: None, backup_root=tmp_path, key=KEY)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert backups.verify(reference)
    backups.restore(reference, customer_id=CUSTOMER)
    assert {"database": None, "dump": None} == {
        k: v
        for k, v in json.loads((tmp_path / reference / "seal.json").read_text())["record"].items()
        if k in {"database", "dump"}
    }


@pytest.mark.postgres
def test_a_target_whose_database_changed_is_not_restored(
    postgres: FilledDatabase, tmp_path: Path
) -> None:
    """The host now maps the site to another database: restore_failed, nothing restored."""
    mapping = {SHOP.name: postgres.database}
    backups = DatabaseBackups(databases=mapping, backup_root=tmp_path, key=KEY)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    mapping[SHOP.name] = Database(Engine.POSTGRESQL, "kw_another", user="postgres")
    with pytest.raises(RestoreFailed, match="another database"):
        backups.restore(reference, customer_id=CUSTOMER)


@pytest.mark.parametrize("name", ["", "a-b", "x; DROP", "-h", "a" * 64, "host=evil"])
def test_database_names_that_could_be_read_as_more_are_refused(name: str) -> None:
    """Only plain identifiers name a database: anything else is invalid_input."""
    with pytest.raises(InvalidInput):
        Database(Engine.POSTGRESQL, name)


# --- the composite: files and database as one backup -------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> FilesystemBackups:
    """The shop's files under tmp_path/sites, backed up to tmp_path/files."""
    (tmp_path / "sites" / SHOP.name).mkdir(parents=True)
    (tmp_path / "sites" / SHOP.name / "index.php").write_text("<?php echo 1;", encoding="utf-8")
    return FilesystemBackups(sites_root=tmp_path / "sites", backup_root=tmp_path / "files", key=KEY)


def _site_files(site: FilesystemBackups) -> dict[str, str]:
    return manifest_of(site.sites_root / SHOP.name)


@pytest.mark.rule("D-DATABASE-BACKUPS")
def test_the_composite_restores_files_and_database_together(
    server: FilledDatabase, site: FilesystemBackups, tmp_path: Path
) -> None:
    """One reference for both; verified; the works undone in the files and the database."""
    both = SiteAndDatabaseBackups(files=site, database=_backups(server, tmp_path))
    files_before, database_before = _site_files(site), server.contents()
    reference = both.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert both.verify(reference)
    (site.sites_root / SHOP.name / "index.php").write_text("broken", encoding="utf-8")
    server.run(*WORKS)
    both.restore(reference, customer_id=CUSTOMER)
    assert (files_before, database_before) == (_site_files(site), server.contents())


@pytest.mark.postgres
@pytest.mark.rule("D-BACKUP-SEAL")
@pytest.mark.parametrize("damaged", ["files", "database"])
def test_the_composite_restores_nothing_when_a_part_is_damaged(
    postgres: FilledDatabase, site: FilesystemBackups, tmp_path: Path, damaged: str
) -> None:
    """Either part tampered: not verified, restore_failed, neither files nor database touched."""
    both = SiteAndDatabaseBackups(files=site, database=_backups(postgres, tmp_path))
    reference = both.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    files_reference, _, database_reference = reference.partition("+")
    damage: dict[str, Callable[[], object]] = {
        "files": lambda: (tmp_path / "files" / files_reference / "tree" / "index.php").write_text(
            "x", encoding="utf-8"
        ),
        "database": lambda: (tmp_path / "dumps" / database_reference / "dump").write_bytes(b"x"),
    }
    damage[damaged]()
    (site.sites_root / SHOP.name / "index.php").write_text("works", encoding="utf-8")
    postgres.run(*WORKS)
    files_after, database_after = _site_files(site), postgres.contents()
    assert not both.verify(reference)
    with pytest.raises(RestoreFailed, match="nothing restored"):
        both.restore(reference, customer_id=CUSTOMER)
    assert (files_after, database_after) == (_site_files(site), postgres.contents())


@pytest.mark.parametrize("reference", ["", "bk-a-1", "+bk-a-1", "bk-a-1+"])
def test_a_composite_reference_without_both_parts_is_not_verified(
    site: FilesystemBackups, tmp_path: Path, reference: str
) -> None:
    """A reference that does not name both parts is no composite backup."""
    both = SiteAndDatabaseBackups(
        files=site,
        database=DatabaseBackups(databases={}, backup_root=tmp_path / "dumps", key=KEY),
    )
    assert not both.verify(reference)


@pytest.mark.postgres
def test_a_composite_whose_database_fails_keeps_no_files_backup(
    site: FilesystemBackups, tmp_path: Path
) -> None:
    """The database part fails: backup_failed, and the files part taken first is removed."""
    missing = Database(Engine.POSTGRESQL, "kw_no_such_db", user="postgres")
    both = SiteAndDatabaseBackups(
        files=site,
        database=DatabaseBackups(
            databases={SHOP.name: missing}, backup_root=tmp_path / "dumps", key=KEY
        ),
    )
    with pytest.raises(BackupFailed, match="pg_dump failed"):
        both.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [".lock"] == [p.name for p in (tmp_path / "files").iterdir()]
