"""The host's own adapters pass the library's contract suites, as a host's CI would run them."""

from __future__ import annotations

from datetime import datetime

import pytest
from host_adapters import MOSCOW, HostBilling, HostClock

from komtet_works.testing import BillingContract, ClockContract


class TestHostBilling(BillingContract):
    @pytest.fixture
    def billing(self) -> HostBilling:
        return HostBilling()


class TestHostClock(ClockContract):
    @pytest.fixture
    def clock(self) -> HostClock:
        return HostClock(datetime(2026, 3, 2, 10, tzinfo=MOSCOW))
