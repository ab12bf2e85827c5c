"""Filesystem backups SIGKILLed at random moments of snapshots and restores, again and again.

Two sealed backups hold two states of one site, A and B.  A forked worker restores A, takes
a snapshot, restores B, takes a snapshot, and so on for ever; the test kills it after a
random delay (up to about three of its rounds), then calls `recover`, as the next run
would.  After each kill: the site is exactly A or exactly B (never missing, never mixed),
no staging copy or workspace remains, and every backup left is sealed, verified, and
holds A or B: a killed snapshot left nothing.

Size: ``KOMTET_WORKS_BACKUP_KILLS`` (default 40; CI runs 200).  ``pytest -s`` prints the
figures.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from itertools import count
from pathlib import Path
from typing import Final

import pytest

from komtet_works import Target, TargetKind
from komtet_works.adapters.filesystem import FilesystemBackups, manifest_of
from komtet_works.adapters.restore_journal import WORKSPACE
from komtet_works.testing.backups import CUSTOMER

KILLS: Final = int(os.environ.get("KOMTET_WORKS_BACKUP_KILLS", "40"))
SHOP: Final = Target(TargetKind.SITE, "shop.example")
KEY: Final = b"the provider's key, 32 bytes...."


def fill(site: Path, state: str) -> None:
    """The site in `state`: 40 files in 4 directories, every one of them different."""
    for directory in range(4):
        (site / f"d{directory}").mkdir(parents=True, exist_ok=True)
        for number in range(10):
            content = f"{state} {directory}/{number}\n".encode() * 400
            (site / f"d{directory}" / f"f{number}.php").write_bytes(content)
    (site / "current").unlink(missing_ok=True)
    (site / "current").symlink_to(f"d0/{state}")


def work(backups: FilesystemBackups, references: tuple[str, str], ready: int) -> None:
    """The forked worker: restores and snapshots, alternately, until it is killed."""
    os.write(ready, b"r")
    for turn in count():
        backups.restore(references[turn % 2], customer_id=CUSTOMER)
        backups.snapshot(SHOP, order_id="kill", customer_id=CUSTOMER)


def test_backups_killed_at_random_points_leave_the_site_whole(tmp_path: Path) -> None:
    """After any SIGKILL and `recover`: the site is A or B exactly, nothing half-done kept."""
    backups = FilesystemBackups(
        sites_root=tmp_path / "sites", backup_root=tmp_path / "backups", key=KEY
    )
    site = tmp_path / "sites" / SHOP.name
    fill(site, "A")
    state_a, first = manifest_of(site), backups.snapshot(SHOP, order_id="a", customer_id=CUSTOMER)
    fill(site, "B")
    state_b, second = manifest_of(site), backups.snapshot(SHOP, order_id="b", customer_id=CUSTOMER)
    assert state_a != state_b
    started = time.monotonic()
    backups.restore(first, customer_id=CUSTOMER)
    backups.restore(second, customer_id=CUSTOMER)
    one_round = time.monotonic() - started  # of the worker, roughly: to spread the kills
    rng = random.Random(os.environ.get("KOMTET_WORKS_SEED", "backup-kills"))  # noqa: S311
    tally: Counter[str] = Counter()
    for _ in range(KILLS):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child runs until it is killed
            try:
                os.close(read_end)
                work(backups, (first, second), write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        assert b"r" == os.read(read_end, 1)
        os.close(read_end)
        time.sleep(rng.uniform(0, 3 * one_round))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        # the worker never ends by itself: any other end is a failure of the adapter
        assert signal.SIGKILL == os.WTERMSIG(status)
        tally["kills"] += 1
        tally["interrupted a restore"] += (tmp_path / "sites" / WORKSPACE).exists()
        tally["... after its journal"] += (tmp_path / "sites" / WORKSPACE / "journal.json").exists()
        tally["interrupted a snapshot"] += _unsealed(backups) > 0
        backups.recover()
        now = manifest_of(site)
        assert now in (state_a, state_b)
        tally[f"site left as {'A' if now == state_a else 'B'}"] += 1
        assert [SHOP.name] == [p.name for p in (tmp_path / "sites").iterdir()]
        assert 0 == _unsealed(backups)
        for reference in _references(backups):
            assert backups.verify(reference)
            if reference not in (first, second):
                backups.discard(reference)
    print(f"\nbackup kills: {dict(sorted(tally.items()))}")  # noqa: T201 - the figures
    assert KILLS == tally["kills"]


def _references(backups: FilesystemBackups) -> list[str]:
    return sorted(p.name for p in backups.backup_root.iterdir() if p.name.startswith("bk-"))


def _unsealed(backups: FilesystemBackups) -> int:
    """How many backup directories have no seal yet: snapshots not finished."""
    return sum(not (backups.backup_root / r / "seal.json").exists() for r in _references(backups))


pytestmark = pytest.mark.rule("D-RESTORE-JOURNAL")
