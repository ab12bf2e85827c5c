"""Hostile site trees and tampered archives, generated: nothing escapes, nothing forged restores.

Each example builds a site from generated entries (traversal-like, unicode and non-UTF-8
names; files with setuid bits, hard links, links out of the site and link loops, FIFOs,
sockets, character devices when the tests run as root, 1 TiB sparse files against a
1 MiB cap), backs it up, perhaps tampers with the archive (its seal, its files, FIFOs,
devices or links put in it, truncations), and restores it.  Then: nothing outside the
two roots changed, a refused snapshot left nothing, a tampered archive is neither
verified nor restored and the site is as it was, a sound one restores exactly, and no
staging copy remains.  A watchdog alarm turns a hang into a failure.

Size: ``KOMTET_WORKS_HOSTILE_TREES`` examples (default 200; CI runs 1,000).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Final

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from komtet_works import BackupFailed, RestoreFailed, Target, TargetKind
from komtet_works.adapters.filesystem import FilesystemBackups, Limits, manifest_of
from komtet_works.adapters.restore_journal import WORKSPACE
from komtet_works.adapters.trees import TreeRefused, remove_tree
from komtet_works.testing.backups import CUSTOMER

EXAMPLES: Final = int(os.environ.get("KOMTET_WORKS_HOSTILE_TREES", "200"))
SHOP: Final = Target(TargetKind.SITE, "shop.example")
KEY: Final = b"the provider's key, 32 bytes...."
CAP: Final = Limits(max_bytes=2**20, max_seconds=30)
#: Far longer than any example takes; an example still running then has hung.
WATCHDOG_SECONDS: Final = 60
ROOT: Final = os.geteuid() == 0

names = st.one_of(
    st.sampled_from(["...", "..a", "-rf", " ", "index.php", ".htaccess", "~", "a:b", "*"]),
    st.text(st.characters(exclude_characters="/\x00", codec="utf-8"), min_size=1, max_size=12),
    # not UTF-8: kept as surrogate escapes
    st.lists(st.integers(1, 255).filter(lambda b: b != ord("/")), min_size=1, max_size=8).map(
        lambda raw: os.fsdecode(bytes(raw))
    ),
).filter(lambda name: name not in {".", ".."})

LINK_TARGETS: Final = ("../../outside/secret", "/etc/passwd", ".", "..", "loop", "../shop.example")
SPECIAL: Final = ("fifo", "socket", "device", "sparse")
KINDS: Final = ("file", "dir", "link", "hardlink")


@attrs.frozen
class Entry:
    """One thing the generated site holds: where, what, with which mode and content."""

    parent: int
    name: str
    kind: str
    mode: int
    content: bytes
    link: str


entries = st.builds(
    Entry,
    parent=st.integers(0, 6),
    name=names,
    kind=st.sampled_from(KINDS),
    mode=st.sampled_from([0o644, 0o755, 0o4755, 0o2755, 0o600, 0o1777]),
    content=st.binary(max_size=300),
    link=st.sampled_from(LINK_TARGETS),
)

TAMPERINGS: Final = (
    "none",
    "seal-target",
    "seal-hash",
    "seal-truncated",
    "file-altered",
    "file-added",
    "file-removed",
    "file-truncated",
    "fifo-added",
    "device-added",
    "sparse-added",
    "dir-linked-out",
)


def build(site: Path, generated: list[Entry], special: str | None) -> bool:
    """Make the site of `generated`, with the `special` entry last, if any; whether it holds
    something a backup must refuse."""
    site.mkdir(parents=True)
    directories: list[Path] = [site]
    files: list[Path] = []
    for entry in generated:
        path = directories[entry.parent % len(directories)] / entry.name
        if path.exists() or path.is_symlink():
            continue
        match entry.kind:
            case "file":
                path.write_bytes(entry.content)
                path.chmod(entry.mode)
                files.append(path)
            case "dir":
                path.mkdir()
                path.chmod(entry.mode | 0o700)
                directories.append(path)
            case "link":
                path.symlink_to(path.name if entry.link == "loop" else entry.link)
            case "hardlink" if files:
                os.link(files[0], path)
    if special is not None:
        # a socket's path must fit in 108 bytes: the special entry goes at the top
        remove_tree(site / "special")
        make_special(site / "special", special)
    return special is not None


def make_special(path: Path, kind: str) -> None:
    """A FIFO, socket, character device or 1 TiB sparse file at `path`."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(os.fsencode(path))
    elif kind == "device":
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    else:
        with path.open("wb") as huge:
            huge.truncate(2**40)


def tamper(kept: Path, how: str) -> bool:  # noqa: C901 - one case per tampering
    """Change the archive `kept` (``<backup_root>/<reference>``) as an attacker would;
    whether there was something to change (a file to alter needs a file)."""
    seal, tree = kept / "seal.json", kept / "tree"
    body = json.loads(seal.read_text(encoding="ascii"))
    files = sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    if how == "none" or (how in {"file-altered", "file-truncated", "file-removed"} and not files):
        return False
    if how == "seal-truncated":
        seal.write_bytes(seal.read_bytes()[: len(seal.read_bytes()) // 2])
    elif how == "seal-target":
        body["record"]["target"] = "other.example"
        seal.write_text(json.dumps(body), encoding="ascii")
    elif how == "seal-hash":
        entries = body["record"]["entries"]
        entry = os.fsdecode(files[0].relative_to(tree)) if files else "."
        entries[entry] = "file:644:" + "0" * 64 if files else "dir:777"
        seal.write_text(json.dumps(body), encoding="ascii")
    elif how == "file-removed":
        files[-1].unlink()
    elif how == "file-truncated":
        size = files[-1].stat().st_size
        if size:
            os.truncate(files[-1], size - 1)
        else:  # empty already: give it a byte instead
            files[-1].write_bytes(b"x")
    elif how == "file-altered":
        files[-1].write_bytes(files[-1].read_bytes() + b"<?php evil();")
    elif how == "dir-linked-out":
        (tree / "linked").symlink_to(kept.parent.parent / "outside")
    elif how == "file-added":
        (tree / "added.php").write_bytes(b"<?php evil();")
    else:
        kind = {"fifo-added": "fifo", "device-added": "device" if ROOT else "socket"}
        make_special(tree / "planted", kind.get(how, "sparse"))
    return True


@contextmanager
def watchdog() -> Iterator[None]:
    """Fail, rather than hang, if the block runs past `WATCHDOG_SECONDS`."""

    def hung(_signal: int, _frame: FrameType | None) -> None:
        raise AssertionError(f"an example ran past {WATCHDOG_SECONDS} s: it hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def everything_else(root: Path) -> tuple[list[str], dict[str, str]]:
    """What a backup must never touch: the names beside the two roots, and `outside`."""
    return sorted(p.name for p in root.iterdir()), manifest_of(root / "outside")


def changed(kept: Path, sealed: dict[str, str]) -> bool:
    """Whether the archive `kept` is no longer what `sealed` (its manifest) says; one holding
    what no manifest takes (a FIFO, a device, a sparse file past the cap) has changed."""
    try:
        return manifest_of(kept, CAP.budget()) != sealed
    except TreeRefused:
        return True


def backups_under(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != ".lock") if root.exists() else []


@pytest.mark.rule("D-BACKUP-SEAL")
@pytest.mark.parametrize("names", [["..a"], ["...", "..a"], ["a"]])
@pytest.mark.parametrize("how", [t for t in TAMPERINGS if t != "none"])
def test_every_tampering_changes_a_one_byte_archive_and_is_caught(
    tmp_path: Path, names: list[str], how: str
) -> None:
    """Each tampering changes an archive whose last file holds one byte, and `verify` and
    `restore` refuse it.  Hypothesis found `file-truncated` cutting that byte and then, the
    file being empty, writing it back: the archive was unchanged, so it verified."""
    site = tmp_path / "sites" / SHOP.name
    site.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for name in names[:-1]:
        (site / name).write_bytes(b"")
    (site / names[-1]).write_bytes(b"x")
    backups = FilesystemBackups(
        sites_root=tmp_path / "sites", backup_root=tmp_path / "backups", key=KEY, limits=CAP
    )
    reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
    kept = tmp_path / "backups" / reference
    sealed = manifest_of(kept, CAP.budget())

    assert tamper(kept, how)

    assert changed(kept, sealed)
    assert not backups.verify(reference)
    with pytest.raises(RestoreFailed):
        backups.restore(reference, customer_id=CUSTOMER)


@pytest.mark.rule("D-BACKUP-SPECIAL-FILES", "D-BACKUP-LIMITS", "D-BACKUP-SEAL")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    generated=st.lists(entries, max_size=12),
    special=st.sampled_from(
        [None, None, None, None, "fifo", "socket", "sparse"] + ["device"] * ROOT
    ),
    how=st.sampled_from(TAMPERINGS),
)
def test_hostile_trees_and_tampered_archives_never_betray(
    generated: list[Entry], special: str | None, how: str
) -> None:
    """Refused or restored exactly; tampering never restores; nothing escapes or is left."""
    with tempfile.TemporaryDirectory() as scratch, watchdog():
        root = Path(scratch)
        (root / "outside").mkdir()
        (root / "backups").mkdir()
        (root / "outside" / "secret").write_text("the provider's", encoding="utf-8")
        site = root / "sites" / SHOP.name
        hostile = build(site, generated, special)
        backups = FilesystemBackups(
            sites_root=root / "sites", backup_root=root / "backups", key=KEY, limits=CAP
        )
        around = everything_else(root)
        site_before = manifest_of(site, CAP.budget()) if not hostile else None
        try:
            reference = backups.snapshot(SHOP, order_id="o-1", customer_id=CUSTOMER)
        except BackupFailed:
            event("snapshot refused")
            assert hostile
            assert [] == backups_under(root / "backups")
            assert around == everything_else(root)
            return
        assert not hostile
        assert backups.verify(reference)
        (site / "works.php").write_bytes(b"changed by the works")
        after_works = manifest_of(site)
        if tamper(root / "backups" / reference, how):
            event(f"tampered: {how}")
            assert not backups.verify(reference)
            with pytest.raises(RestoreFailed):
                backups.restore(reference, customer_id=CUSTOMER)
            assert after_works == manifest_of(site)
        else:
            event("restored")
            backups.restore(reference, customer_id=CUSTOMER)
            assert site_before == manifest_of(site)
        assert around == everything_else(root)
        assert not (root / "sites" / WORKSPACE).exists()
        assert [SHOP.name] == sorted(p.name for p in (root / "sites").iterdir())
