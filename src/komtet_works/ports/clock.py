from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The provider's clock: every instant the library records comes from here."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (any tzinfo: the library converts it)."""
        ...
