"""Where backups are kept: one directory per backup under a root, each sealed by the provider.

Every backup is a directory ``<root>/<reference>``: what it copied, and ``seal.json``, its
record (the reference, the target, the order, and the digest of every byte a restore will
trust) with an HMAC-SHA256 of the record under a key only the provider holds (decision
D-BACKUP-SEAL).  A record whose MAC does not match, or that names another reference, is no
backup: nothing in an archive can be changed, swapped or renamed without the key.

The seal is written last, atomically: a directory without one is a snapshot that failed or
was killed, and the next call into the store removes it.  Every call holds an exclusive lock
on ``<root>/.lock``, so one process at a time reads, writes or cleans up the root.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any, Final

from komtet_works.adapters.trees import TreeRefused, remove_tree, sync_directory
from komtet_works.domain.errors import InvalidInput

#: The shortest provider key accepted: 128 bits.
MIN_KEY_BYTES: Final = 16
SEAL: Final = "seal.json"
_LOCK: Final = ".lock"
#: Order ids that can stand in a directory name as they are; others are hashed.
_PLAIN: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_REFERENCE: Final = re.compile(r"bk-[A-Za-z0-9._-]{1,64}-[0-9]{1,9}")

Record = dict[str, Any]


def safe_name(name: str, field: str) -> str:
    """`name` if it names one entry inside a directory; otherwise `InvalidInput`."""
    if name in {"", ".", ".."} or any(c in name for c in ("/", "\\", "\x00")):
        raise InvalidInput(f"{field} {name!r} cannot name a directory under the root", field=field)
    return name


def require_key(key: bytes) -> bytes:
    """`key` if it can seal backups: bytes, at least `MIN_KEY_BYTES` long."""
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInput(f"a backup key is at least {MIN_KEY_BYTES} bytes", field="key")
    return key


def provider_key(path: str | Path) -> bytes:
    """The provider's backup key kept in the file `path`, made (32 random bytes, mode 0600)
    the first time.  Keep the file outside the backup root: whoever reads it can forge."""
    path = Path(path)
    try:
        with path.open("xb") as new:
            os.fchmod(new.fileno(), 0o600)
            new.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    return require_key(path.read_bytes())


def _canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class BackupStore:
    """The backup directories under `root`, sealed with `key`."""

    def __init__(self, root: str | Path, key: bytes) -> None:
        self.root = Path(root)
        self._key = require_key(key)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the root's lock; first remove what killed or failed snapshots left."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / _LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._sweep()
            yield

    def claim(self, order_id: str) -> str:
        """A new reference for a backup of `order_id`, its directory made here first."""
        stem = (
            order_id
            if _PLAIN.fullmatch(order_id)
            else hashlib.sha256(order_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        )
        for number in count(1):
            reference = f"bk-{stem}-{number}"
            try:
                (self.root / reference).mkdir()
            except FileExistsError:
                continue
            return reference
        raise AssertionError  # pragma: no cover - itertools.count never ends

    def place(self, reference: str) -> Path:
        """The directory of backup `reference`; a reference that is not one is refused."""
        if not _REFERENCE.fullmatch(reference):
            raise InvalidInput(f"{reference!r} is not a backup reference", field="reference")
        return self.root / reference

    def seal(self, reference: str, record: Record) -> None:
        """Write `record` (with its reference) and its MAC: the backup is complete from now."""
        sealed = {**record, "reference": reference}
        body = {"record": sealed, "hmac": self._mac(sealed)}
        partial = self.place(reference) / f".{SEAL}.partial"
        with partial.open("w", encoding="ascii") as file:
            json.dump(body, file, sort_keys=True, indent=1)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(self.place(reference) / SEAL)
        sync_directory(self.place(reference))

    def record(self, reference: str, kind: str) -> Record | None:
        """The sealed record of backup `reference` of `kind`, or None: missing, unsealed,
        forged, of another kind, or moved from another reference."""
        try:
            body = json.loads((self.place(reference) / SEAL).read_text(encoding="ascii"))
            record, mac = body["record"], body["hmac"]
            authentic = hmac.compare_digest(self._mac(record), mac)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not authentic or record.get("reference") != reference or record.get("kind") != kind:
            return None
        return dict(record)

    def discard(self, reference: str) -> None:
        """Remove backup `reference` (a failed snapshot, or one of a composite that failed)."""
        remove_tree(self.place(reference))

    def _mac(self, record: Mapping[str, Any]) -> str:
        return hmac.new(self._key, _canonical(record), hashlib.sha256).hexdigest()

    def _sweep(self) -> None:
        """Remove every backup directory without a seal: its snapshot never finished."""
        for entry in self.root.iterdir():
            if _REFERENCE.fullmatch(entry.name) and not (entry / SEAL).exists():
                remove_tree(entry)


def refuse_another_customer(record: Record, customer_id: str) -> None:
    """Rule D-BACKUP-CUSTOMER: a backup is restored only for the customer its seal names."""
    if record.get("customer_id") != customer_id:
        raise TreeRefused("it was taken for another customer")
