"""`ClockContract`: what every `Clock` promises the use cases.

Every instant the library records comes from the clock (decision D-CLOCK): it must be
timezone-aware, and it must not run backwards, or steps would be refused as out of order.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from komtet_works.domain.instants import require_aware
from komtet_works.ports import Clock

__all__ = ["ClockContract"]


class ClockContract:
    """The `Clock` port's promises: aware instants that never go back."""

    @pytest.fixture
    def clock(self) -> Clock:
        """The adapter under test; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `clock` fixture")

    def test_now_is_a_timezone_aware_datetime(self, clock: Clock) -> None:
        """now returns a datetime with an offset, which the domain takes as it is."""
        now = clock.now()
        assert isinstance(now, datetime)
        assert now.utcoffset() is not None
        assert now == require_aware(now, field="now")

    def test_now_never_goes_back(self, clock: Clock) -> None:
        """A thousand readings in a row are in order (equal readings are allowed)."""
        readings = [clock.now() for _ in range(1000)]
        assert sorted(readings) == readings
