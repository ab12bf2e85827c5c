"""Reading and copying a directory tree that may be hostile, within a budget of bytes and time.

A customer's site is theirs to fill, so its tree is read as an attacker's would be: every
entry is looked at with ``lstat`` and opened relative to its parent's descriptor with
``O_NOFOLLOW``, so a directory swapped for a symlink mid-walk is never followed.  Only
regular files, directories and symlinks are kept (links as links).  A FIFO, a socket or a
device is refused with its path named, without being opened (decision D-BACKUP-SPECIAL-FILES):
opening a FIFO can hang for ever and reading a device like /dev/zero never ends.  Hard links
are copied as separate files.  Permission bits are kept, setuid, setgid and sticky never.

What a tree holds is its *manifest*: each relative path (the tree itself is ``.``) mapped to
``dir:<mode>``, ``file:<mode>:<sha256>`` or ``link:<target>``; names that are not UTF-8 are
kept with surrogate escapes, as ``os.fsdecode`` gives them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import attrs

Manifest = dict[str, str]

#: The permission bits a copy keeps: never setuid, setgid or sticky.
KEPT_MODE: Final = 0o777
_BLOCK: Final = 1 << 20
_DIRECTORY: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_SPECIAL: Final = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


class TreeRefused(Exception):
    """The tree holds what a backup does not take, or more than its budget allows."""


@attrs.frozen
class Limits:
    """The most one backup may hold (bytes of file content) and take (seconds)."""

    max_bytes: int = 10 * 2**30
    max_seconds: float = 900.0

    def __attrs_post_init__(self) -> None:
        if self.max_bytes < 0 or not self.max_seconds > 0:
            raise ValueError("backup limits must be a size of zero or more and a positive time")

    def budget(self) -> Budget:
        """A budget starting now."""
        return Budget(self, time.monotonic() + self.max_seconds)


@attrs.define
class Budget:
    """What is left of one backup's `Limits`: every read and every entry draws on it."""

    limits: Limits
    deadline: float
    spent: int = 0

    def tick(self) -> None:
        """Refuse once the time is up."""
        if time.monotonic() > self.deadline:
            raise TreeRefused(f"took longer than the {self.limits.max_seconds:g} s allowed")

    def spend(self, size: int, where: str) -> None:
        """Draw `size` bytes for `where`; refuse past the size cap, before anything is read."""
        self.spent += size
        if self.spent > self.limits.max_bytes:
            raise TreeRefused(f"{where}: more than the {self.limits.max_bytes} bytes allowed")
        self.tick()


def manifest_of(tree: Path, budget: Budget | None = None) -> Manifest:
    """What `tree` holds (see the module's docstring), without following any link."""
    return _walk(tree, None, budget or Limits().budget())


def copy_tree(source: Path, destination: Path, budget: Budget) -> Manifest:
    """Copy `source` to the new directory `destination`; return the manifest of what was copied.

    What is written goes only under `destination`, through descriptors of directories this
    call made.  A refusal leaves `destination` partly written: the caller removes it.
    """
    return _walk(source, destination, budget)


def _walk(source: Path, destination: Path | None, budget: Budget) -> Manifest:
    walk = _Walk(budget)
    source_fd = os.open(source, _DIRECTORY)
    try:
        if destination is None:
            walk.directory(source_fd, None, "")
        else:
            destination.mkdir(mode=0o700)
            destination_fd = os.open(destination, _DIRECTORY)
            try:
                walk.directory(source_fd, destination_fd, "")
            finally:
                os.close(destination_fd)
    finally:
        os.close(source_fd)
    return dict(sorted(walk.found.items()))


@attrs.define
class _Walk:
    """One walk of a tree: what it found so far, and its budget."""

    budget: Budget
    found: Manifest = attrs.field(factory=dict)

    def directory(self, source_fd: int, destination_fd: int | None, relative: str) -> None:
        """Record (and copy) the directory open as `source_fd`, then its entries, depth first."""
        mode = stat.S_IMODE(os.fstat(source_fd).st_mode) & KEPT_MODE
        self.found[relative or "."] = f"dir:{mode:o}"
        with os.scandir(source_fd) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            self.budget.tick()
            path = f"{relative}/{name}" if relative else name
            info = os.stat(name, dir_fd=source_fd, follow_symlinks=False)
            kind = stat.S_IFMT(info.st_mode)
            if kind == stat.S_IFLNK:
                link = os.readlink(name, dir_fd=source_fd)
                if destination_fd is not None:
                    os.symlink(link, name, dir_fd=destination_fd)
                self.found[path] = f"link:{link}"
            elif kind == stat.S_IFDIR:
                self.subdirectory(source_fd, destination_fd, name, path)
            elif kind == stat.S_IFREG:
                self.budget.spend(info.st_size, path)
                self.found[path] = _read_file(source_fd, destination_fd, name, info, path)
            else:
                what = _SPECIAL.get(kind, "special file")
                raise TreeRefused(f"{path!r} is a {what}: only files, directories and links")
        if destination_fd is not None:
            os.fchmod(destination_fd, mode)

    def subdirectory(
        self, source_fd: int, destination_fd: int | None, name: str, path: str
    ) -> None:
        """Descend into the directory `name`, and into its new copy when copying."""
        child = os.open(name, _DIRECTORY, dir_fd=source_fd)
        try:
            if destination_fd is None:
                self.directory(child, None, path)
                return
            os.mkdir(name, 0o700, dir_fd=destination_fd)
            copy = os.open(name, _DIRECTORY, dir_fd=destination_fd)
            try:
                self.directory(child, copy, path)
            finally:
                os.close(copy)
        finally:
            os.close(child)


def _read_file(
    source_fd: int, destination_fd: int | None, name: str, seen: os.stat_result, path: str
) -> str:
    """The manifest entry of regular file `name`, copied when copying; at most the size
    `lstat` saw is read, so a file growing during the backup cannot exceed the budget."""
    content = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=source_fd)
    copy = None
    try:
        opened = os.fstat(content)
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
            raise TreeRefused(f"{path!r} was replaced while it was read")
        if destination_fd is not None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            copy = os.open(name, flags, 0o600, dir_fd=destination_fd)
        sha = hashlib.sha256()
        left = seen.st_size
        while left > 0 and (block := os.read(content, min(_BLOCK, left))):
            left -= len(block)
            sha.update(block)
            if copy is not None:
                write_all(copy, block)
        mode = stat.S_IMODE(opened.st_mode) & KEPT_MODE
        if copy is not None:
            os.fchmod(copy, mode)
        return f"file:{mode:o}:{sha.hexdigest()}"
    finally:
        os.close(content)
        if copy is not None:
            os.close(copy)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the descriptor `fd`."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def remove_tree(path: Path) -> None:
    """Remove `path` (a tree, a file or a link) if it is there, read-only directories too."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=_retry_writable)


def _retry_writable(function: Callable[[str], object], failed: str, _error: object) -> None:
    """`rmtree`'s second try at `failed`: its directory made writable first."""
    Path(failed).parent.chmod(0o700)
    function(failed)


@contextmanager
def removed_on_failure(path: Path) -> Iterator[Path]:
    """`path`, removed if the block raises: what a failed step made is not left behind."""
    try:
        yield path
    except BaseException:
        remove_tree(path)
        raise


def sync_directory(path: Path) -> None:
    """Make the entries of directory `path` (renames, removals) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
