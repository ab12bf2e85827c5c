"""FilesystemBackups on real files: snapshot, verify by content hashes, restore."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from komtet_works import BackupFailed, InvalidInput, RestoreFailed, Target, TargetKind
from komtet_works.adapters import FilesystemBackups
from komtet_works.adapters.filesystem import manifest_of

SHOP = Target(TargetKind.SITE, "shop.example")


@pytest.fixture(name="backups")
def fixture_backups(tmp_path: Path) -> FilesystemBackups:
    """Backups over tmp_path/sites, kept in tmp_path/backups; the shop's directory filled."""
    site = tmp_path / "sites" / SHOP.name
    (site / "img").mkdir(parents=True)
    (site / "empty").mkdir()
    (site / "index.html").write_text("<h1>shop</h1>", encoding="utf-8")
    (site / "img" / "logo.png").write_bytes(bytes(range(256)) * 10)
    (site / "current").symlink_to("index.html")
    return FilesystemBackups(sites_root=tmp_path / "sites", backup_root=tmp_path / "backups")


def _site(backups: FilesystemBackups) -> Path:
    return backups.sites_root / SHOP.name


@pytest.mark.rule("L5")
def test_a_fresh_snapshot_verifies(backups: FilesystemBackups) -> None:
    """A snapshot of the shop's tree is verified: its copy matches what the site held."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    assert backups.verify(reference)
    assert manifest_of(_site(backups)) == manifest_of(backups.backup_root / reference / "tree")


def test_snapshot_references_number_the_backups_of_an_order(
    backups: FilesystemBackups,
) -> None:
    """Two snapshots for o-1 are bk-o-1-1 and bk-o-1-2; an odd order id is hashed."""
    first = backups.snapshot(SHOP, order_id="o-1")
    second = backups.snapshot(SHOP, order_id="o-1")
    odd = backups.snapshot(SHOP, order_id="../../etc")
    assert ("bk-o-1-1", "bk-o-1-2") == (first, second)
    assert (backups.backup_root / odd).parent == backups.backup_root
    assert backups.verify(odd)


@pytest.mark.rule("L5", "D-BACKUP-FAILURE")
@pytest.mark.parametrize(
    "damage",
    [
        lambda tree: (tree / "index.html").write_text("<h1>changed</h1>", encoding="utf-8"),
        lambda tree: (tree / "img" / "logo.png").unlink(),
        lambda tree: (tree / "extra.txt").write_text("", encoding="utf-8"),
        lambda tree: (tree / "empty").rmdir(),
        lambda tree: ((tree / "current").unlink(), (tree / "current").symlink_to("img")),
    ],
    ids=["changed", "missing", "extra", "empty-dir-gone", "link-retargeted"],
)
def test_a_damaged_copy_does_not_verify(
    backups: FilesystemBackups, damage: Callable[[Path], object]
) -> None:
    """Any change to the copy (content, files, directories, links) fails verification."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    damage(backups.backup_root / reference / "tree")
    assert not backups.verify(reference)


@pytest.mark.parametrize("reference", ["bk-none-1", "..", "a/b", ""])
def test_unknown_or_unsafe_references_do_not_verify(
    backups: FilesystemBackups, reference: str
) -> None:
    """A reference that names no backup, or would leave the backup root: not verified."""
    assert not backups.verify(reference)


@pytest.mark.rule("L8")
def test_restore_puts_the_tree_back_exactly(backups: FilesystemBackups) -> None:
    """After the works changed, added and removed files, restore gives the snapshot's tree."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    before = manifest_of(_site(backups))
    (_site(backups) / "index.html").write_text("broken", encoding="utf-8")
    (_site(backups) / "new.php").write_text("<?php", encoding="utf-8")
    (_site(backups) / "img" / "logo.png").unlink()
    backups.restore(reference)
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]


@pytest.mark.rule("L8")
def test_restore_brings_back_a_deleted_site(backups: FilesystemBackups) -> None:
    """The site's directory removed entirely: restore recreates it from the copy."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    before = manifest_of(_site(backups))
    shutil.rmtree(_site(backups))
    backups.restore(reference)
    assert before == manifest_of(_site(backups))


@pytest.mark.rule("D-RESTORE")
def test_a_damaged_backup_is_not_restored_and_the_site_is_left_alone(
    backups: FilesystemBackups,
) -> None:
    """restore of a copy that fails verification: restore_failed, the site untouched."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    (backups.backup_root / reference / "tree" / "index.html").write_text("x", encoding="utf-8")
    (_site(backups) / "index.html").write_text("during the works", encoding="utf-8")
    with pytest.raises(RestoreFailed):
        backups.restore(reference)
    assert "during the works" == (_site(backups) / "index.html").read_text(encoding="utf-8")


def test_restoring_an_unknown_backup_is_refused(backups: FilesystemBackups) -> None:
    """No such backup: restore_failed."""
    with pytest.raises(RestoreFailed):
        backups.restore("bk-nothing-1")


@pytest.mark.rule("D-BACKUP-FAILURE")
def test_a_target_without_a_directory_cannot_be_backed_up(backups: FilesystemBackups) -> None:
    """No directory for the target: backup_failed, and no backup is left behind."""
    with pytest.raises(BackupFailed):
        backups.snapshot(Target(TargetKind.SERVER, "vps-1"), order_id="o-1")
    assert not backups.backup_root.exists() or [] == list(backups.backup_root.iterdir())


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../sites", "/etc", "nul\x00", "a\\b"])
def test_target_names_that_would_leave_the_root_are_refused(
    backups: FilesystemBackups, name: str
) -> None:
    """Names with separators, dot names and NUL name no directory under the root."""
    with pytest.raises(InvalidInput):
        backups.directory(name)
    with pytest.raises(BackupFailed):
        backups.snapshot(Target(TargetKind.SITE, name), order_id="o-1")


def test_a_target_linked_out_of_the_root_is_refused(
    backups: FilesystemBackups, tmp_path: Path
) -> None:
    """A target directory that is a symlink elsewhere is not backed up through the link."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (backups.sites_root / "linked.example").symlink_to(elsewhere)
    with pytest.raises(BackupFailed, match="out of the sites root"):
        backups.snapshot(Target(TargetKind.SITE, "linked.example"), order_id="o-1")


def test_links_inside_the_site_are_copied_as_links(backups: FilesystemBackups) -> None:
    """A symlink is backed up and restored as the same link, never followed."""
    reference = backups.snapshot(SHOP, order_id="o-1")
    (_site(backups) / "current").unlink()
    backups.restore(reference)
    assert Path("index.html") == (_site(backups) / "current").readlink()


@pytest.mark.rule("D-BACKUP-FAILURE")
def test_a_backup_root_that_cannot_hold_backups_is_backup_failed(
    backups: FilesystemBackups,
) -> None:
    """The backup root is a file: backup_failed, not an OSError."""
    backups.backup_root.write_text("not a directory", encoding="utf-8")
    with pytest.raises(BackupFailed):
        backups.snapshot(SHOP, order_id="o-1")
