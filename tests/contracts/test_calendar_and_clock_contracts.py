"""The BusinessCalendar and Clock contracts (komtet_works.testing) on the adapters shipped."""

from __future__ import annotations

from datetime import date, time

import pendulum
import pytest

from komtet_works.adapters import InMemoryBusinessCalendar, ManualClock, SystemClock
from komtet_works.adapters.russian_calendar import RussianBusinessCalendar
from komtet_works.testing import BusinessCalendarContract, ClockContract


@pytest.mark.rule("L4")
class TestInMemoryBusinessCalendar(BusinessCalendarContract):
    @pytest.fixture
    def calendar(self) -> InMemoryBusinessCalendar:
        """The provider's office, with the new-year holidays and a transferred Saturday."""
        holidays = {date(2028, 1, n): None for n in range(1, 9)}
        return InMemoryBusinessCalendar(
            exceptions={**holidays, date(2028, 1, 15): (time(10), time(17))}
        )


@pytest.mark.rule("L4", "D-BUSINESS-CALENDAR")
class TestRussianBusinessCalendar(BusinessCalendarContract):
    """The production calendar covers the years of its snapshot; the last one is checked."""

    year = max(RussianBusinessCalendar().years)

    @pytest.fixture
    def calendar(self) -> RussianBusinessCalendar:
        return RussianBusinessCalendar()


@pytest.mark.rule("D-CLOCK")
class TestManualClock(ClockContract):
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow"))


@pytest.mark.rule("D-CLOCK")
class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> SystemClock:
        return SystemClock()
