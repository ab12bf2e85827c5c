"""FilesystemBackups on real files: snapshot, verify by content hashes, restore."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from komtet_works import BackupFailed, InvalidInput, RestoreFailed, Target, TargetKind
from komtet_works.adapters import FilesystemBackups
from komtet_works.adapters.backup_store import provider_key
from komtet_works.adapters.filesystem import Limits, manifest_of
from komtet_works.adapters.restore_journal import WORKSPACE, RestoreJournal
from komtet_works.testing.backups import CUSTOMER

SHOP = Target(TargetKind.SITE, "shop.example")
KEY = b"the provider's key, 32 bytes...."


@pytest.fixture(name="backups")
def fixture_backups(tmp_path: Path) -> FilesystemBackups:
    """Backups over tmp_path/sites, kept in tmp_path/backups; the shop's directory filled."""
    site = tmp_path / "sites" / SHOP.name
    (site / "img").mkdir(parents=True)
    (site / "empty").mkdir()
    (site / "index.html").write_text("<h1>shop</h1>", encoding="utf-8")
    (site / "img" / "logo.png").write_bytes(bytes(range(256)) * 10)
    (site / "current").symlink_to("index.html")
    return FilesystemBackups(
        sites_root=tmp_path / "sites", backup_root=tmp_path / "backups", key=KEY
    )


def kept_backups(backups: FilesystemBackups) -> list[str]:
    """The backups (complete or not) under the backup root; its lock file is not one."""
    root = backups.backup_root
    return sorted(p.name for p in root.iterdir() if p.name != ".lock") if root.exists() else []


def _site(backups: FilesystemBackups) -> Path:
    return backups.sites_root / SHOP.name


@pytest.mark.rule("L5")
def test_a_fresh_snapshot_verifies(backups: FilesystemBackups) -> None:
    """A snapshot of the shop's tree is verified: its copy matches what the site held."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert backups.verify(reference)
    assert manifest_of(_site(backups)) == manifest_of(backups.backup_root / reference / "tree")


def test_snapshot_references_number_the_backups_of_an_order(
    backups: FilesystemBackups,
) -> None:
    """Two snapshots for o-1 are bk-o-1-1 and bk-o-1-2; an odd order id is hashed."""
    first = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    second = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    odd = backups.snapshot(SHOP, order_id="../../etc", customer_id=CUSTOMER)
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
        lambda tree: os.truncate(tree / "index.html", (tree / "index.html").stat().st_size - 1),
    ],
    ids=["changed", "missing", "extra", "empty-dir-gone", "link-retargeted", "truncated"],
)
def test_a_damaged_copy_does_not_verify(
    backups: FilesystemBackups, damage: Callable[[Path], object]
) -> None:
    """Any change to the copy (content, files, directories, links) fails verification."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
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
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    before = manifest_of(_site(backups))
    (_site(backups) / "index.html").write_text("broken", encoding="utf-8")
    (_site(backups) / "new.php").write_text("<?php", encoding="utf-8")
    (_site(backups) / "img" / "logo.png").unlink()
    backups.restore(reference, customer_id=CUSTOMER)
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]


@pytest.mark.rule("L8")
def test_restore_brings_back_a_deleted_site(backups: FilesystemBackups) -> None:
    """The site's directory removed entirely: restore recreates it from the copy."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    before = manifest_of(_site(backups))
    shutil.rmtree(_site(backups))
    backups.restore(reference, customer_id=CUSTOMER)
    assert before == manifest_of(_site(backups))


@pytest.mark.rule("D-RESTORE")
def test_a_damaged_backup_is_not_restored_and_the_site_is_left_alone(
    backups: FilesystemBackups,
) -> None:
    """restore of a copy that fails verification: restore_failed, the site untouched."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    (backups.backup_root / reference / "tree" / "index.html").write_text("x", encoding="utf-8")
    (_site(backups) / "index.html").write_text("during the works", encoding="utf-8")
    with pytest.raises(RestoreFailed):
        backups.restore(reference, customer_id=CUSTOMER)
    assert "during the works" == (_site(backups) / "index.html").read_text(encoding="utf-8")


def test_restoring_an_unknown_backup_is_refused(backups: FilesystemBackups) -> None:
    """No such backup: restore_failed."""
    with pytest.raises(RestoreFailed):
        backups.restore("bk-nothing-1", customer_id=CUSTOMER)


@pytest.mark.rule("D-BACKUP-FAILURE")
def test_a_target_without_a_directory_cannot_be_backed_up(backups: FilesystemBackups) -> None:
    """No directory for the target: backup_failed, and no backup is left behind."""
    with pytest.raises(BackupFailed):
        backups.snapshot(Target(TargetKind.SERVER, "vps-1"), order_id="o-1", customer_id=CUSTOMER)
    assert [] == kept_backups(backups)


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../sites", "/etc", "nul\x00", "a\\b"])
def test_target_names_that_would_leave_the_root_are_refused(
    backups: FilesystemBackups, name: str
) -> None:
    """Names with separators, dot names and NUL name no directory under the root."""
    with pytest.raises(InvalidInput):
        backups.directory(name)
    with pytest.raises(BackupFailed):
        backups.snapshot(Target(TargetKind.SITE, name), order_id="o-1", customer_id=CUSTOMER)


def test_a_target_linked_out_of_the_root_is_refused(
    backups: FilesystemBackups, tmp_path: Path
) -> None:
    """A target directory that is a symlink elsewhere is not backed up through the link."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (backups.sites_root / "linked.example").symlink_to(elsewhere)
    with pytest.raises(BackupFailed, match="out of the sites root"):
        backups.snapshot(
            Target(TargetKind.SITE, "linked.example"), order_id="o-1", customer_id=CUSTOMER
        )


def test_links_inside_the_site_are_copied_as_links(backups: FilesystemBackups) -> None:
    """A symlink is backed up and restored as the same link, never followed."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    (_site(backups) / "current").unlink()
    backups.restore(reference, customer_id=CUSTOMER)
    assert Path("index.html") == (_site(backups) / "current").readlink()


@pytest.mark.rule("D-BACKUP-FAILURE")
def test_a_backup_root_that_cannot_hold_backups_is_backup_failed(
    backups: FilesystemBackups,
) -> None:
    """The backup root is a file: backup_failed, not an OSError."""
    backups.backup_root.write_text("not a directory", encoding="utf-8")
    with pytest.raises(BackupFailed):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)


# --- hardening (issue 9): what a site may hold, caps, seals, overlapping roots ---------------


def _fifo(site: Path) -> None:
    os.mkfifo(site / "pipe")


def _socket(site: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(site / "socket"))


def _char_device(site: Path) -> None:
    os.mknod(site / "zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # what /dev/zero is


@pytest.mark.rule("D-BACKUP-SPECIAL-FILES")
@pytest.mark.parametrize(
    ("make", "named"),
    [(_fifo, "'pipe' is a FIFO"), (_socket, "'socket' is a socket")]
    + ([(_char_device, "'zero' is a character device")] if os.geteuid() == 0 else []),
    ids=lambda v: getattr(v, "__name__", "")[1:] or None,
)
def test_fifos_sockets_and_devices_are_refused_with_their_path(
    backups: FilesystemBackups, make: Callable[[Path], None], named: str
) -> None:
    """A FIFO, socket or device in the site: backup_failed naming it, and no backup left."""
    make(_site(backups) / "img")
    with pytest.raises(BackupFailed, match=f"img/{named[1:]}"):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [] == kept_backups(backups)


@pytest.mark.rule("D-BACKUP-LIMITS")
def test_a_site_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A sparse file of 1 TiB against a 1 MiB cap: refused at once, nothing left."""
    backups = FilesystemBackups(
        sites_root=tmp_path / "sites",
        backup_root=tmp_path / "backups",
        key=KEY,
        limits=Limits(max_bytes=2**20),
    )
    (tmp_path / "sites" / SHOP.name).mkdir(parents=True)
    with (tmp_path / "sites" / SHOP.name / "huge.bin").open("wb") as huge:
        huge.truncate(2**40)
    with pytest.raises(BackupFailed, match=r"huge\.bin: more than the 1048576 bytes allowed"):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [] == kept_backups(backups)


@pytest.mark.rule("D-BACKUP-LIMITS")
def test_a_backup_past_its_time_cap_is_refused(backups: FilesystemBackups) -> None:
    """A time cap already spent when the walk begins: backup_failed, nothing left."""
    backups.limits = Limits(max_seconds=1e-9)
    with pytest.raises(BackupFailed, match="took longer than"):
        backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    assert [] == kept_backups(backups)


@pytest.mark.parametrize(
    "backup_root", ["sites", "sites/shop.example/bk", "sites/.backups", ".", "sites/.."]
)
def test_a_backup_root_inside_or_around_the_sites_root_is_refused(
    tmp_path: Path, backup_root: str
) -> None:
    """A backup root that is, holds or lies in the sites root: invalid_input when built."""
    with pytest.raises(InvalidInput, match="overlap") as refusal:
        FilesystemBackups(
            sites_root=tmp_path / "sites", backup_root=tmp_path / backup_root, key=KEY
        )
    assert "backup_root" == refusal.value.field


def test_a_key_too_short_to_seal_is_refused(tmp_path: Path) -> None:
    """A key under 16 bytes cannot seal a backup: invalid_input."""
    with pytest.raises(InvalidInput, match="16 bytes"):
        FilesystemBackups(sites_root=tmp_path / "s", backup_root=tmp_path / "b", key=b"short")


@pytest.mark.rule("D-BACKUP-SPECIAL-FILES")
def test_setuid_and_setgid_bits_are_never_restored(backups: FilesystemBackups) -> None:
    """A setuid program in the site, and setgid put on the copy: restored as 0755, no more."""
    program = _site(backups) / "run.cgi"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o4755)
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    (backups.backup_root / reference / "tree" / "img").chmod(0o2755)
    backups.restore(reference, customer_id=CUSTOMER)
    assert 0o755 == stat.S_IMODE(program.stat().st_mode)
    assert 0o755 == stat.S_IMODE((_site(backups) / "img").stat().st_mode)


def _reseal_with(
    backups: FilesystemBackups, reference: str, change: Callable[[dict[str, Any]], None]
) -> None:
    """Rewrite the record of `reference` by `change`, its MAC left as it was."""
    seal = backups.backup_root / reference / "seal.json"
    body = json.loads(seal.read_text(encoding="ascii"))
    change(body["record"])
    seal.write_text(json.dumps(body), encoding="ascii")


@pytest.mark.rule("D-BACKUP-SEAL")
@pytest.mark.parametrize(
    "change",
    [
        lambda record: record.update(target="other.example"),
        lambda record: record["entries"].update({"index.html": "file:644:" + "0" * 64}),
        lambda record: record["entries"].pop("img/logo.png"),
        lambda record: record.update(order_id="o-2"),
        lambda record: record.update(customer_id="cust-new"),
    ],
    ids=["target-renamed", "hash-rewritten", "entry-removed", "order-changed", "customer-changed"],
)
def test_a_tampered_record_neither_verifies_nor_restores(
    backups: FilesystemBackups, change: Callable[[dict[str, Any]], None]
) -> None:
    """The record edited without the key: not verified, restore_failed, the site untouched."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    (_site(backups) / "index.html").write_text("during the works", encoding="utf-8")
    before = manifest_of(_site(backups))
    _reseal_with(backups, reference, change)
    assert not backups.verify(reference)
    with pytest.raises(RestoreFailed):
        backups.restore(reference, customer_id=CUSTOMER)
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]


@pytest.mark.rule("D-BACKUP-CUSTOMER")
def test_a_site_backup_is_restored_only_for_its_customer(backups: FilesystemBackups) -> None:
    """The seal names the order's customer; a restore for another is restore_failed and
    leaves the site as the new owner has it."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    seal = json.loads((backups.backup_root / reference / "seal.json").read_text("ascii"))
    assert CUSTOMER == seal["record"]["customer_id"]
    (_site(backups) / "index.html").write_text("the new owner's", encoding="utf-8")
    before = manifest_of(_site(backups))
    with pytest.raises(RestoreFailed, match="another customer"):
        backups.restore(reference, customer_id="cust-new")
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]


@pytest.mark.rule("D-BACKUP-SEAL")
def test_a_backup_moved_to_another_reference_is_not_one(backups: FilesystemBackups) -> None:
    """Backup bk-o-1-1 renamed to bk-o-9-1: its seal names the first reference, not verified."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    (backups.backup_root / reference).rename(backups.backup_root / "bk-o-9-1")
    assert not backups.verify("bk-o-9-1")


@pytest.mark.rule("D-BACKUP-SEAL")
def test_another_providers_key_verifies_nothing(backups: FilesystemBackups) -> None:
    """The same archive read with another key: not verified, not restored."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    other = FilesystemBackups(
        sites_root=backups.sites_root,
        backup_root=backups.backup_root,
        key=b"another key, 32 bytes long......",
    )
    assert not other.verify(reference)
    with pytest.raises(RestoreFailed):
        other.restore(reference, customer_id=CUSTOMER)


def test_the_provider_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    """provider_key makes a 32-byte key, mode 0600, and reads the same key afterwards."""
    first = provider_key(tmp_path / "backup.key")
    assert (32, 0o600) == (len(first), stat.S_IMODE((tmp_path / "backup.key").stat().st_mode))
    assert first == provider_key(tmp_path / "backup.key")


def test_a_target_named_like_the_restore_workspace_is_refused(backups: FilesystemBackups) -> None:
    """The workspace of restores is no target: backup_failed."""
    with pytest.raises(BackupFailed, match="workspace"):
        backups.snapshot(
            Target(TargetKind.SITE, ".komtet-restore"), order_id="o-1", customer_id=CUSTOMER
        )


@pytest.mark.rule("D-RESTORE-JOURNAL")
@pytest.mark.parametrize("site_moved_aside", [False, True])
def test_a_decided_restore_interrupted_is_finished_by_recover(
    backups: FilesystemBackups, monkeypatch: pytest.MonkeyPatch, site_moved_aside: bool
) -> None:
    """Journal written, then a crash (before or between the renames): recover finishes it."""
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    before = manifest_of(_site(backups))
    (_site(backups) / "index.html").write_text("broken", encoding="utf-8")
    with monkeypatch.context() as crash:
        crash.setattr(RestoreJournal, "recover", lambda _self: None)
        backups.restore(reference, customer_id=CUSTOMER)
    workspace = backups.sites_root / WORKSPACE
    if site_moved_aside:
        journal = json.loads((workspace / "journal.json").read_text(encoding="utf-8"))
        _site(backups).rename(workspace / journal["old"])
    backups.recover()
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]


@pytest.mark.rule("D-RESTORE-JOURNAL")
def test_a_staging_copy_without_a_journal_is_rolled_back(backups: FilesystemBackups) -> None:
    """A restore killed while copying left a staging copy: the next call removes it."""
    (backups.sites_root / WORKSPACE / "0123.new" / "img").mkdir(parents=True)
    before = manifest_of(_site(backups))
    assert not backups.verify("bk-none-1")
    assert before == manifest_of(_site(backups))
    assert [SHOP.name] == [p.name for p in backups.sites_root.iterdir()]
