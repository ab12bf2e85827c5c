from __future__ import annotations

from datetime import date, time
from typing import Protocol


class BusinessCalendar(Protocol):
    """When the provider's staff work: working hours and holidays, supplied as data.

    Russian transferred weekends are set by decree each year and cannot be computed, so a
    calendar is data the host keeps up to date, not an algorithm.
    """

    @property
    def timezone(self) -> str:
        """The IANA zone the working hours are in."""
        ...

    def working_hours(self, day: date) -> tuple[time, time] | None:
        """The start and end of work on `day`, or None when nobody works that day;
        `CalendarNotCovered` for a day of a year the calendar holds no data for."""
        ...
