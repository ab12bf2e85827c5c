from __future__ import annotations

from typing import Protocol

from komtet_works.domain.customers import Target


class Backups(Protocol):
    """Snapshots of a customer's site or server, taken before works (rule L5)."""

    def snapshot(self, target: Target, *, order_id: str) -> str:
        """Take a backup of `target`; return its reference.  Raises `BackupFailed`."""
        ...

    def verify(self, reference: str) -> bool:
        """Whether the backup `reference` is complete and can be restored."""
        ...

    def restore(self, reference: str) -> None:
        """Put the target back as the backup holds it.  Raises `RestoreFailed`."""
        ...
