"""`BusinessCalendarContract`: what every `BusinessCalendar` promises the scheduler.

The suggested completion date (rule L4) walks the calendar day by day in its zone, so a
day's hours must be a wall-clock span that opens before it closes, the zone must be one
the time zone database knows, and the same day must get the same answer each time.  A
calendar that is data for some years only answers a day of any other year with
`CalendarNotCovered`, never another exception.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import pytest

from komtet_works.domain.errors import CalendarNotCovered
from komtet_works.ports import BusinessCalendar

__all__ = ["BusinessCalendarContract"]

#: The year checked unless a subclass names another (`year`): a leap year.
YEAR: Final = 2028
#: The ends of the calendar Python can write.
EDGES: Final = (date.min, date.max)


class BusinessCalendarContract:
    """The `BusinessCalendar` port's promises: a known zone, sane spans, stable answers.

    A subclass provides the ``calendar`` fixture, and overrides `year` when its calendar
    does not cover `YEAR`.
    """

    year: int = YEAR

    def days(self) -> tuple[date, ...]:
        """Every day of `year`."""
        first = date(self.year, 1, 1)
        return tuple(
            first + timedelta(days=n) for n in range((date(self.year + 1, 1, 1) - first).days)
        )

    @pytest.fixture
    def calendar(self) -> BusinessCalendar:
        """The adapter under test; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `calendar` fixture")

    def test_the_zone_is_one_the_time_zone_database_knows(self, calendar: BusinessCalendar) -> None:
        """timezone is an IANA name (Europe/Moscow), not an offset or an abbreviation."""
        assert calendar.timezone == ZoneInfo(calendar.timezone).key

    def test_each_working_day_opens_before_it_closes_on_the_wall_clock(
        self, calendar: BusinessCalendar
    ) -> None:
        """Every day of a year is a day off (None) or a naive (start, end) with start < end."""
        for day in self.days():
            span = calendar.working_hours(day)
            if span is None:
                continue
            start, end = span
            assert (time, time, None, None) == (type(start), type(end), start.tzinfo, end.tzinfo)
            assert start < end, f"{day}: {start} is not before {end}"

    def test_somebody_works_some_day_of_the_year(self, calendar: BusinessCalendar) -> None:
        """A calendar where nobody ever works could schedule no works at all."""
        assert any(calendar.working_hours(day) is not None for day in self.days())

    def test_a_day_gets_the_same_answer_each_time(self, calendar: BusinessCalendar) -> None:
        """The calendar is data: asking again about a day changes nothing."""
        assert [calendar.working_hours(day) for day in self.days()] == [
            calendar.working_hours(day) for day in self.days()
        ]

    @pytest.mark.parametrize("day", EDGES, ids=str)
    def test_the_ends_of_the_calendar_are_answered(
        self, calendar: BusinessCalendar, day: date
    ) -> None:
        """The first and last days Python can write get an answer, or `CalendarNotCovered`."""
        try:
            span = calendar.working_hours(day)
        except CalendarNotCovered:
            return
        assert span is None or span[0] < span[1]
