from __future__ import annotations

from typing import Protocol

import pendulum


class Clock(Protocol):
    """The provider's clock: every instant the library records comes from here."""

    def now(self) -> pendulum.DateTime:
        """The current instant, timezone-aware."""
        ...
