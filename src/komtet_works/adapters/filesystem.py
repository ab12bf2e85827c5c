"""Backups as copies of directory trees: each target is a directory under one root.

A target called ``shop.example`` is the directory ``<sites_root>/shop.example``; a name
that is empty, a dot name, or holds a path separator or NUL could leave the root, and is
refused.  A snapshot copies the tree to ``<backup_root>/<reference>/tree`` and writes a
manifest of what the target held (each file's SHA-256, each link's target, each
directory); `verify` compares the copy with the manifest, and `restore` puts a verified
copy back in place of the target's directory, through a rename, so a failed restore
leaves the target as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from itertools import count
from pathlib import Path
from typing import Final

from komtet_works.domain.customers import Target
from komtet_works.domain.errors import BackupFailed, InvalidInput, RestoreFailed
from komtet_works.ports import Backups

#: Order ids that can stand in a directory name as they are; others are hashed.
_PLAIN: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_MANIFEST: Final = "manifest.json"
_TREE: Final = "tree"

Manifest = dict[str, str]
#: What reading a missing, damaged or foreign backup can raise.
_UNREADABLE: Final = (OSError, ValueError, KeyError, TypeError)


def _safe_name(name: str, field: str) -> str:
    """`name` if it names one entry inside a directory; otherwise `InvalidInput`."""
    if name in {"", ".", ".."} or any(c in name for c in ("/", "\\", "\x00")):
        raise InvalidInput(f"{field} {name!r} cannot name a directory under the root", field=field)
    return name


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as content:
        for block in iter(lambda: content.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def manifest_of(tree: Path) -> Manifest:
    """What `tree` holds: relative path to ``dir``, ``file:<sha256>`` or ``link:<target>``."""
    found: Manifest = {}
    for directory, dirs, files in os.walk(tree):
        here = Path(directory)
        for name in dirs + files:
            path = here / name
            relative = path.relative_to(tree).as_posix()
            if path.is_symlink():
                found[relative] = f"link:{path.readlink()}"
            elif path.is_dir():
                found[relative] = "dir"
            else:
                found[relative] = f"file:{_digest(path)}"
    return dict(sorted(found.items()))


class FilesystemBackups(Backups):
    """Backups of target directories under `sites_root`, kept under `backup_root`."""

    def __init__(self, *, sites_root: str | Path, backup_root: str | Path) -> None:
        self.sites_root = Path(sites_root)
        self.backup_root = Path(backup_root)

    def directory(self, target_name: str) -> Path:
        """The directory of the target called `target_name`; names that escape are refused."""
        path = self.sites_root / _safe_name(target_name, "target")
        if path.resolve().parent != self.sites_root.resolve():  # a symlink pointing away
            raise InvalidInput(f"target {target_name!r} leads out of the sites root")
        return path

    def snapshot(self, target: Target, *, order_id: str) -> str:
        try:
            source = self.directory(target.name)
        except InvalidInput as refusal:
            raise BackupFailed(f"could not back up {target}: {refusal.message}") from None
        if not source.is_dir():
            raise BackupFailed(f"{target} has no directory to back up")
        try:
            self.backup_root.mkdir(parents=True, exist_ok=True)
            reference, kept = self._new_place(order_id)
            shutil.copytree(source, kept / _TREE, symlinks=True)
            record = {"target": target.name, "entries": manifest_of(source)}
            _write_atomically(kept / _MANIFEST, json.dumps(record, indent=1))
        except OSError as error:
            raise BackupFailed(f"could not back up {target}: {error.strerror}") from None
        return reference

    def verify(self, reference: str) -> bool:
        try:
            return self._verified(reference) is not None
        except _UNREADABLE:
            return False

    def restore(self, reference: str) -> None:
        try:
            target = self._verified(reference)
        except _UNREADABLE:
            target = None
        if target is None:
            raise RestoreFailed(f"backup {reference!r} is missing or damaged")
        try:
            self._put_back(self.backup_root / reference / _TREE, self.directory(target))
        except (OSError, InvalidInput) as error:
            raise RestoreFailed(f"could not restore backup {reference!r}: {error}") from None

    def _put_back(self, kept: Path, destination: Path) -> None:
        """Copy `kept` beside `destination`, then swap it in: the target is whole throughout."""
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=self.sites_root))
        replaced = staging / "replaced"
        try:
            shutil.copytree(kept, staging / _TREE, symlinks=True)
            if destination.exists() or destination.is_symlink():
                destination.rename(replaced)
            try:
                (staging / _TREE).rename(destination)
            except OSError:
                if replaced.exists():
                    replaced.rename(destination)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _new_place(self, order_id: str) -> tuple[str, Path]:
        """A new reference for a backup of `order_id`, and its directory, made here first."""
        stem = (
            order_id
            if _PLAIN.fullmatch(order_id)
            else hashlib.sha256(order_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        )
        for number in count(1):
            reference = f"bk-{stem}-{number}"
            try:
                (self.backup_root / reference).mkdir()
            except FileExistsError:
                continue
            return reference, self.backup_root / reference
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def _verified(self, reference: str) -> str | None:
        """The target name of backup `reference` when its copy matches its manifest."""
        kept = self.backup_root / _safe_name(reference, "backup reference")
        record = json.loads((kept / _MANIFEST).read_text(encoding="utf-8"))
        if manifest_of(kept / _TREE) != record["entries"]:
            return None
        return str(record["target"])


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees all of it or no file at all."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
