"""Closing a store that holds one database connection: what the SQL stores share."""

from __future__ import annotations

from typing import Protocol, Self


class _Closable(Protocol):
    def close(self) -> None: ...


class HoldsConnection:
    """A store on one connection, ``_db``: `close` closes it, as leaving ``with`` does."""

    _db: _Closable

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
