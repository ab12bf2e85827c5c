from __future__ import annotations

import pendulum

from komtet_works.ports import Clock


class SystemClock(Clock):
    """The machine's clock, in UTC."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now(pendulum.UTC)
