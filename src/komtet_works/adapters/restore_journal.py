"""Putting a restored tree in place of a site so that a crash at any point is undone or finished.

A restore copies the backup into ``<sites_root>/.komtet-restore/<token>.new`` and checks
the copy; until then the site is untouched and a crash leaves only that staging copy, which
the next run removes (rolled back).  Then the journal ``journal.json`` is written and
fsynced: from that moment the restore is decided, and the next run finishes it (rolled
forward): the site is renamed to ``<token>.old``, the copy renamed to the site, the old tree
removed, the journal removed.  Each of these steps can be taken again after a crash, from
what is on disk, so the site is whole whenever `recover` has run (decision D-RESTORE-JOURNAL).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from komtet_works.adapters.trees import remove_tree, sync_directory

#: The directory, in the sites root, of restores under way; no target may be called this.
WORKSPACE: Final = ".komtet-restore"
_JOURNAL: Final = "journal.json"


class RestoreJournal:
    """Restores into the sites under `sites_root`, journalled in its `WORKSPACE`."""

    def __init__(self, sites_root: Path) -> None:
        self.sites_root = sites_root
        self.workspace = sites_root / WORKSPACE

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """A new path, on the sites' filesystem, for a restore's copy (not made yet); if the
        block fails, the copy and the workspace are removed before the error goes on."""
        self.workspace.mkdir(mode=0o700, exist_ok=True)
        try:
            yield self.workspace / f"{secrets.token_hex(8)}.new"
        except BaseException:
            self.recover()
            raise

    def swap_in(self, staging: Path, target: str) -> None:
        """Decide the restore of `staging` over the site `target`, then carry it out."""
        journal = {"target": target, "new": staging.name, "old": f"{staging.stem}.old"}
        partial = self.workspace / f".{_JOURNAL}.partial"
        with partial.open("w", encoding="utf-8") as file:
            json.dump(journal, file)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(self.workspace / _JOURNAL)
        sync_directory(self.workspace)
        self.recover()

    def recover(self) -> None:
        """Finish a decided restore, remove the staging copies of undecided ones."""
        if not self.workspace.is_dir():
            return
        journal_path = self.workspace / _JOURNAL
        if journal_path.exists():
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            site = self.sites_root / journal["target"]
            new, old = self.workspace / journal["new"], self.workspace / journal["old"]
            if new.exists():
                if site.exists() or site.is_symlink():
                    site.rename(old)
                new.rename(site)
            remove_tree(old)
            journal_path.unlink()
        for leftover in self.workspace.iterdir():
            remove_tree(leftover)
        self.workspace.rmdir()
        sync_directory(self.sites_root)
