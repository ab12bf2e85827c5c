"""A site's files and its database backed up as one backup, with one reference.

The reference is ``<files reference>+<database reference>``.  A snapshot takes the files,
then the database; when the second fails the first is discarded, so a failed snapshot
leaves nothing.  A backup is verified only when both parts are.  A restore restores
nothing unless both parts verify; then the database first (on PostgreSQL all or nothing),
then the files (journalled); a failure says which part was restored and which was not.
"""

from __future__ import annotations

from typing import Final, Protocol

from komtet_works.domain.customers import Target
from komtet_works.domain.errors import BackupFailed, RestoreFailed
from komtet_works.ports import Backups

__all__ = ["DiscardableBackups", "SiteAndDatabaseBackups"]

_JOIN: Final = "+"


class DiscardableBackups(Backups, Protocol):
    """Backups that can also remove one of theirs (the undo of a half-taken composite)."""

    def discard(self, reference: str) -> None: ...


class SiteAndDatabaseBackups(Backups):
    """`files` and `database` backups of each target, as one."""

    def __init__(self, *, files: DiscardableBackups, database: DiscardableBackups) -> None:
        self.files = files
        self.database = database

    def snapshot(self, target: Target, *, order_id: str, customer_id: str) -> str:
        files = self.files.snapshot(target, order_id=order_id, customer_id=customer_id)
        if _JOIN in files:
            self.files.discard(files)
            raise BackupFailed(f"a files reference with {_JOIN!r} cannot be joined: {files}")
        try:
            database = self.database.snapshot(target, order_id=order_id, customer_id=customer_id)
        except BackupFailed:
            self.files.discard(files)
            raise
        return f"{files}{_JOIN}{database}"

    def verify(self, reference: str) -> bool:
        files, _, database = reference.partition(_JOIN)
        return (
            bool(files and database) and self.files.verify(files) and self.database.verify(database)
        )

    def restore(self, reference: str, *, customer_id: str) -> None:
        if not self.verify(reference):
            raise RestoreFailed(f"backup {reference!r} is missing or damaged: nothing restored")
        files, _, database = reference.partition(_JOIN)
        try:
            self.database.restore(database, customer_id=customer_id)
        except RestoreFailed as failure:
            raise RestoreFailed(f"nothing restored: the database was not ({failure})") from None
        try:
            self.files.restore(files, customer_id=customer_id)
        except RestoreFailed as failure:
            raise RestoreFailed(
                f"the database was restored, the files were not ({failure})"
            ) from None
