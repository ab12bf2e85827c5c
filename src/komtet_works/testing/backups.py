"""`BackupsContract`: what every `Backups` adapter promises the use cases (rule L5).

Works start only on a verified backup, and a failed or refunded order is put back from it,
so the contract checks the round trip on the target's content.  The port says nothing of
how a target's content is read or changed: the subclass says it, in three hooks.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import pytest

from komtet_works.domain.customers import Target
from komtet_works.domain.errors import BackupFailed, RestoreFailed
from komtet_works.ports import Backups

__all__ = ["CUSTOMER", "BackupsContract"]

_Adapter = TypeVar("_Adapter", bound=Backups)

#: The customer the contract's backups are taken for.
CUSTOMER: Final = "cust-1"
#: Order ids a backup's reference may be built from: none may lead it astray.
ODD_ORDER_IDS: Final = ("wo-1", "../../etc", "wo/1", "заказ 7", "wo\x00nul", "x" * 300, ".")
#: References nobody was given: verify says False, restore refuses.
UNKNOWN_REFERENCES: Final = ("bk-nobody-1", "", ".", "..", "../../etc/passwd", "bk\x00nul")


class BackupsContract(Generic[_Adapter]):
    """The `Backups` port's promises: a snapshot verifies and restores what it held.

    A subclass provides the ``backups`` fixture and the hooks: `target` (a target the
    adapter can back up, with some content), `write` and `read` (the target's content as
    text) and `unbackable` (a target whose snapshot must fail).
    """

    @pytest.fixture
    def backups(self) -> _Adapter:
        """The adapter under test; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `backups` fixture")

    def target(self, backups: _Adapter) -> Target:
        """A target `backups` can snapshot; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide `target`")

    def write(self, backups: _Adapter, target: Target, content: str) -> None:
        """Change what `target` holds to `content`; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide `write`")

    def read(self, backups: _Adapter, target: Target) -> str:
        """What `target` holds now; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide `read`")

    def unbackable(self, backups: _Adapter) -> Target:
        """A target whose snapshot fails (say, it has no data to copy); a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide `unbackable`")

    @pytest.mark.parametrize("order_id", ODD_ORDER_IDS, ids=repr)
    def test_a_fresh_snapshot_verifies(self, backups: _Adapter, order_id: str) -> None:
        """snapshot returns a reference that verify accepts, for any order id."""
        reference = backups.snapshot(self.target(backups), order_id=order_id, customer_id=CUSTOMER)
        assert str is type(reference)
        assert backups.verify(reference)

    def test_each_snapshot_has_its_own_reference(self, backups: _Adapter) -> None:
        """Two snapshots of one order are two backups, both verified."""
        target = self.target(backups)
        first = backups.snapshot(target, order_id="wo-1", customer_id=CUSTOMER)
        second = backups.snapshot(target, order_id="wo-1", customer_id=CUSTOMER)
        assert first != second
        assert (True, True) == (backups.verify(first), backups.verify(second))

    def test_restore_puts_back_what_the_snapshot_held(self, backups: _Adapter) -> None:
        """Content changed after the snapshot is replaced by the snapshot's on restore."""
        target = self.target(backups)
        self.write(backups, target, "before the works")
        reference = backups.snapshot(target, order_id="wo-1", customer_id=CUSTOMER)
        self.write(backups, target, "broken by the works")
        backups.restore(reference, customer_id=CUSTOMER)
        assert "before the works" == self.read(backups, target)

    def test_each_backup_restores_its_own_moment(self, backups: _Adapter) -> None:
        """Of two snapshots, restoring the older one brings back the older content."""
        target = self.target(backups)
        self.write(backups, target, "first")
        older = backups.snapshot(target, order_id="wo-1", customer_id=CUSTOMER)
        self.write(backups, target, "second")
        newer = backups.snapshot(target, order_id="wo-2", customer_id=CUSTOMER)
        backups.restore(older, customer_id=CUSTOMER)
        assert "first" == self.read(backups, target)
        backups.restore(newer, customer_id=CUSTOMER)
        assert "second" == self.read(backups, target)

    def test_a_backup_is_restored_only_for_the_customer_it_was_taken_for(
        self, backups: _Adapter
    ) -> None:
        """restore for another customer than the snapshot's is RestoreFailed and changes nothing."""
        target = self.target(backups)
        self.write(backups, target, "the first owner")
        reference = backups.snapshot(target, order_id="wo-1", customer_id=CUSTOMER)
        self.write(backups, target, "the next owner")
        with pytest.raises(RestoreFailed):
            backups.restore(reference, customer_id="cust-new")
        assert "the next owner" == self.read(backups, target)

    def test_a_snapshot_that_cannot_be_taken_is_backup_failed(self, backups: _Adapter) -> None:
        """A target the adapter cannot copy is refused with BackupFailed, no reference."""
        with pytest.raises(BackupFailed):
            backups.snapshot(self.unbackable(backups), order_id="wo-1", customer_id=CUSTOMER)

    @pytest.mark.parametrize("reference", UNKNOWN_REFERENCES, ids=repr)
    def test_an_unknown_reference_does_not_verify_and_is_not_restored(
        self, backups: _Adapter, reference: str
    ) -> None:
        """verify of a reference nobody was given is False; restore raises RestoreFailed."""
        target = self.target(backups)
        self.write(backups, target, "as it is")
        assert False is backups.verify(reference)
        with pytest.raises(RestoreFailed):
            backups.restore(reference, customer_id=CUSTOMER)
        assert "as it is" == self.read(backups, target)
