"""Backups as copies of directory trees: each target is a directory under one root.

A target called ``shop.example`` is the directory ``<sites_root>/shop.example``; a name
that is empty, a dot name, or holds a path separator or NUL could leave the root, and is
refused.  A snapshot copies the tree (files, directories and links only, within a size and
a time cap: `komtet_works.adapters.trees`) to ``<backup_root>/<reference>/tree``, reads the
site again, and seals the manifest (`komtet_works.adapters.backup_store`) only if the site
did not change meanwhile; anything else is `BackupFailed`, and nothing is left behind.

`verify` compares the copy with the sealed manifest.  `restore` copies the backup beside
the site, checks the copy against the sealed manifest, and swaps it in through a journal
(`komtet_works.adapters.restore_journal`): a restore killed at any point is rolled back or
finished by the next call into the adapter, or by `recover`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from komtet_works.adapters.backup_store import BackupStore, refuse_another_customer, safe_name
from komtet_works.adapters.restore_journal import WORKSPACE, RestoreJournal
from komtet_works.adapters.trees import (
    Limits,
    TreeRefused,
    copy_tree,
    manifest_of,
    removed_on_failure,
)
from komtet_works.domain.customers import Target
from komtet_works.domain.errors import BackupFailed, InvalidInput, RestoreFailed
from komtet_works.ports import Backups

__all__ = ["FilesystemBackups", "Limits", "manifest_of"]

_TREE: Final = "tree"
_KIND: Final = "files"


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


class FilesystemBackups(Backups):
    """Backups of target directories under `sites_root`, kept under `backup_root`, sealed
    with the provider's `key`, each within `limits` (size and time caps)."""

    def __init__(
        self,
        *,
        sites_root: str | Path,
        backup_root: str | Path,
        key: bytes,
        limits: Limits = Limits(),  # noqa: B008 - a frozen value
    ) -> None:
        self.sites_root = Path(sites_root)
        self.backup_root = Path(backup_root)
        sites, kept = self.sites_root.resolve(), self.backup_root.resolve()
        if _within(kept, sites) or _within(sites, kept):
            raise InvalidInput(
                f"the backup root {str(kept)!r} and the sites root {str(sites)!r} overlap: "
                "a backup would copy itself or be restored over",
                field="backup_root",
            )
        self.limits = limits
        self._store = BackupStore(self.backup_root, key)
        self._journal = RestoreJournal(self.sites_root)

    def directory(self, target_name: str) -> Path:
        """The directory of the target called `target_name`; names that escape are refused."""
        path = self.sites_root / safe_name(target_name, "target")
        if target_name == WORKSPACE:
            raise InvalidInput(f"target {target_name!r} is the restores' workspace")
        if path.resolve().parent != self.sites_root.resolve():  # a symlink pointing away
            raise InvalidInput(f"target {target_name!r} leads out of the sites root")
        return path

    def recover(self) -> None:
        """Finish or roll back a restore a crash interrupted; remove unfinished snapshots.

        Every other method does this first; call it at start-up to do it before then.
        """
        with self._refusing("could not recover the backups", RestoreFailed):
            pass

    def snapshot(self, target: Target, *, order_id: str, customer_id: str) -> str:
        with self._refusing(f"could not back up {target}", BackupFailed):
            return self._take(self.directory(target.name), target, order_id, customer_id)

    def verify(self, reference: str) -> bool:
        try:
            with self._recovered():
                return self._verified(reference)
        except (OSError, TreeRefused, InvalidInput):
            return False

    def restore(self, reference: str, *, customer_id: str) -> None:
        with self._refusing(f"could not restore backup {reference!r}", RestoreFailed):
            self._put_back(reference, customer_id)

    def discard(self, reference: str) -> None:
        """Remove backup `reference` (the composite backups' undo of a half-taken one)."""
        with self._refusing(f"could not remove backup {reference!r}", BackupFailed):
            self._store.discard(reference)

    @contextmanager
    def _recovered(self) -> Iterator[None]:
        """The store's lock held, and what a crash interrupted finished or rolled back."""
        with self._store.locked():
            self._journal.recover()
            yield

    @contextmanager
    def _refusing(self, failure: str, error: type[BackupFailed | RestoreFailed]) -> Iterator[None]:
        """`_recovered`, with what goes wrong raised as `error`, the `failure` said first."""
        try:
            with self._recovered():
                yield
        except (OSError, TreeRefused, InvalidInput) as problem:
            detail = problem.strerror if isinstance(problem, OSError) else str(problem)
            raise error(f"{failure}: {detail or problem}") from None

    def _take(self, source: Path, target: Target, order_id: str, customer_id: str) -> str:
        if not source.is_dir():
            raise TreeRefused(f"{target} has no directory to back up")
        reference = self._store.claim(order_id)
        with removed_on_failure(self._store.place(reference)) as kept:
            budget = self.limits.budget()
            copied = copy_tree(source, kept / _TREE, budget)
            if manifest_of(source, budget) != copied:
                raise TreeRefused("the site changed while it was being backed up")
            record = {
                "kind": _KIND,
                "target": target.name,
                "order_id": order_id,
                "customer_id": customer_id,
                "entries": copied,
            }
            self._store.seal(reference, record)
        return reference

    def _verified(self, reference: str) -> bool:
        record = self._store.record(reference, _KIND)
        if record is None:
            return False
        tree = self._store.place(reference) / _TREE
        return bool(manifest_of(tree, self.limits.budget()) == record["entries"])

    def _put_back(self, reference: str, customer_id: str) -> None:
        """Copy the backup beside the site, check the copy, then swap it in (journalled)."""
        record = self._store.record(reference, _KIND)
        if record is None:
            raise TreeRefused("it is missing, or it is not as it was sealed")
        refuse_another_customer(record, customer_id)
        target = str(record["target"])
        self.directory(target)
        with self._journal.staged() as staging:
            copied = copy_tree(self._store.place(reference) / _TREE, staging, self.limits.budget())
            if copied != record["entries"]:
                raise TreeRefused("its copy is not as it was sealed")
        self._journal.swap_in(staging, target)
