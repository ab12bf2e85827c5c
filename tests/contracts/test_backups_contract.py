"""The Backups contract (komtet_works.testing) run on every backup adapter the library ships."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from komtet_works import Target, TargetKind
from komtet_works.adapters import FilesystemBackups, InMemoryBackups
from komtet_works.testing import BackupsContract

SHOP: Final = Target(TargetKind.SITE, "shop.example")


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
