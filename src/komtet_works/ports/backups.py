from __future__ import annotations

from typing import Protocol

from komtet_works.domain.customers import Target


class Backups(Protocol):
    """Snapshots of a customer's site or server, taken before works (rule L5)."""

    def snapshot(self, target: Target, *, order_id: str, customer_id: str) -> str:
        """Take a backup of `target`, the site or server of `customer_id`, for `order_id`;
        return its reference.  Raises `BackupFailed`.

        An adapter binds the customer to the backup (a keyed seal) so that `restore` can
        refuse it for anyone else (rule D-BACKUP-CUSTOMER).
        """
        ...

    def verify(self, reference: str) -> bool:
        """Whether the backup `reference` is complete and can be restored."""
        ...

    def restore(self, reference: str, *, customer_id: str) -> None:
        """Put the target back as the backup holds it.  Raises `RestoreFailed`, and
        restores nothing, when the backup was taken for another customer than
        `customer_id` (rule D-BACKUP-CUSTOMER)."""
        ...
