"""The Backups contract (komtet_works.testing) run on every backup adapter the library ships."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from conftest import FilledDatabase, Mariadb, Postgres
from komtet_works import Target, TargetKind
from komtet_works.adapters import FilesystemBackups, InMemoryBackups
from komtet_works.adapters.composite import SiteAndDatabaseBackups
from komtet_works.adapters.database_backups import Database, DatabaseBackups, Engine
from komtet_works.testing import BackupsContract

SHOP: Final = Target(TargetKind.SITE, "shop.example")
#: A site whose database the server does not have: its dump fails.
LOST: Final = Target(TargetKind.SITE, "lost.example")
KEY: Final = b"k" * 32


@pytest.mark.rule("L5")
class TestInMemoryBackups(BackupsContract[InMemoryBackups]):
    @pytest.fixture
    def backups(self) -> InMemoryBackups:
        return InMemoryBackups()

    def target(self, backups: InMemoryBackups) -> Target:
        return SHOP

    def write(self, backups: InMemoryBackups, target: Target, content: str) -> None:
        backups.data[target.name] = content

    def read(self, backups: InMemoryBackups, target: Target) -> str:
        return str(backups.data[target.name])

    def unbackable(self, backups: InMemoryBackups) -> Target:
        backups.failing_snapshots = True
        return SHOP


@pytest.mark.rule("L5")
class TestFilesystemBackups(BackupsContract[FilesystemBackups]):
    """The shop is a directory of files; its content here is one page of it."""

    @pytest.fixture
    def backups(self, tmp_path: Path) -> FilesystemBackups:
        (tmp_path / "sites" / SHOP.name / "img").mkdir(parents=True)
        return FilesystemBackups(
            sites_root=tmp_path / "sites", backup_root=tmp_path / "backups", key=b"k" * 32
        )

    def target(self, backups: FilesystemBackups) -> Target:
        return SHOP

    def write(self, backups: FilesystemBackups, target: Target, content: str) -> None:
        (backups.directory(target.name) / "index.html").write_text(content, encoding="utf-8")

    def read(self, backups: FilesystemBackups, target: Target) -> str:
        return (backups.directory(target.name) / "index.html").read_text(encoding="utf-8")

    def unbackable(self, backups: FilesystemBackups) -> Target:
        return Target(TargetKind.SITE, "no-such-site.example")


def _database_backups(server: FilledDatabase, root: Path) -> DatabaseBackups:
    """Dumps of the server's test database for SHOP, and of a database it lacks for LOST."""
    ours = server.database
    lost = Database(ours.engine, "kw_no_such_db", port=ours.port, user=ours.user)
    return DatabaseBackups(
        databases={SHOP.name: ours, LOST.name: lost}, backup_root=root / "dumps", key=KEY
    )


def _server(database: Database | None) -> FilledDatabase:
    assert database is not None
    return Postgres(database) if database.engine is Engine.POSTGRESQL else Mariadb(database)


def _write_page(database: Database | None, content: str) -> None:
    """The home page's body in the database: the contract's plain words, no quotes."""
    assert "'" not in content
    _server(database).run(f"UPDATE pages SET body = '{content}' WHERE id = 1")  # noqa: S608


def _read_page(database: Database | None) -> str:
    return _server(database).contents()["pages"][0][1]


@pytest.mark.rule("L5", "D-DATABASE-BACKUPS")
class TestDatabaseBackups(BackupsContract[DatabaseBackups]):
    """On PostgreSQL and on MariaDB (the `server` fixture); the content is a row."""

    @pytest.fixture
    def backups(self, server: FilledDatabase, tmp_path: Path) -> DatabaseBackups:
        return _database_backups(server, tmp_path)

    def target(self, backups: DatabaseBackups) -> Target:
        return SHOP

    def write(self, backups: DatabaseBackups, target: Target, content: str) -> None:
        _write_page(backups.database_of(target), content)

    def read(self, backups: DatabaseBackups, target: Target) -> str:
        return _read_page(backups.database_of(target))

    def unbackable(self, backups: DatabaseBackups) -> Target:
        return LOST


@pytest.mark.rule("L5", "D-DATABASE-BACKUPS")
class TestSiteAndDatabaseBackups(BackupsContract[SiteAndDatabaseBackups]):
    """The site's files and its database as one backup; the content is in both."""

    @pytest.fixture
    def backups(self, server: FilledDatabase, tmp_path: Path) -> SiteAndDatabaseBackups:
        for site in (SHOP, LOST):
            (tmp_path / "sites" / site.name).mkdir(parents=True)
        files = FilesystemBackups(
            sites_root=tmp_path / "sites", backup_root=tmp_path / "backups", key=KEY
        )
        return SiteAndDatabaseBackups(files=files, database=_database_backups(server, tmp_path))

    def target(self, backups: SiteAndDatabaseBackups) -> Target:
        return SHOP

    def write(self, backups: SiteAndDatabaseBackups, target: Target, content: str) -> None:
        files, database = _parts(backups)
        (files.directory(target.name) / "index.html").write_text(content, encoding="utf-8")
        _write_page(database.database_of(target), content)

    def read(self, backups: SiteAndDatabaseBackups, target: Target) -> str:
        """The content when the files and the database agree; both, to tell, when not."""
        files, database = _parts(backups)
        page = (files.directory(target.name) / "index.html").read_text(encoding="utf-8")
        row = _read_page(database.database_of(target))
        return page if page == row else f"files {page!r}, database {row!r}"

    def unbackable(self, backups: SiteAndDatabaseBackups) -> Target:
        """The files are copied, then the database's dump fails: nothing is kept."""
        return LOST


def _parts(backups: SiteAndDatabaseBackups) -> tuple[FilesystemBackups, DatabaseBackups]:
    files, database = backups.files, backups.database
    assert isinstance(files, FilesystemBackups)
    assert isinstance(database, DatabaseBackups)
    return files, database
