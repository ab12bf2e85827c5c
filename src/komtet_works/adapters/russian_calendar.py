"""The Russian production calendar as a `BusinessCalendar`: holidays, the days off the
Government's decrees transfer, the weekend days worked instead, and the shortened
pre-holiday days (Labour Code art. 95: one hour less).

Two sources, which must agree: the `holidays` package (country RU, its version pinned by
the project) carries the holidays, the transfers and the working weekends; a snapshot of
the published calendar shipped with the package (``data/ru_production_calendar.json``)
records the same days and adds what `holidays` lacks, the shortened days.  A year is
covered when the snapshot has it; a day of any other year raises `CalendarNotCovered`,
so a holiday is never taken for a working day for want of data.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Final

import attrs
import holidays

from komtet_works.domain.errors import CalendarNotCovered
from komtet_works.ports import BusinessCalendar

#: The provider's office hours unless configured.
OFFICE_HOURS: Final = (time(10), time(19))
#: How much shorter a pre-holiday working day is (art. 95).
PRE_HOLIDAY_CUT: Final = timedelta(hours=1)
_SNAPSHOT: Final = "ru_production_calendar.json"


@attrs.frozen
class ProductionYear:
    """One year of the production calendar, five-day week."""

    weekdays_off: frozenset[date]
    working_weekends: frozenset[date]
    shortened: frozenset[date]

    def works(self, day: date) -> bool:
        if day.isoweekday() > 5:
            return day in self.working_weekends
        return day not in self.weekdays_off


def _dates(texts: list[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(text) for text in texts)


@cache
def snapshot() -> Mapping[int, ProductionYear]:
    """The production calendar shipped with the package, by year."""
    text = resources.files("komtet_works.adapters").joinpath("data", _SNAPSHOT).read_text("utf-8")
    return {
        int(year): ProductionYear(
            _dates(days["weekdays_off"]),
            _dates(days["working_weekends"]),
            _dates(days["shortened"]),
        )
        for year, days in json.loads(text)["years"].items()
    }


def from_holidays(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The weekdays off and the working weekends of `year`, as the `holidays` package has them."""
    russia = holidays.country_holidays("RU", years=year)
    off = frozenset(day for day in russia if day.year == year and day.isoweekday() <= 5)
    return off, frozenset(day for day in russia.weekend_workdays if day.year == year)


@cache
def production_year(year: int) -> ProductionYear:
    """`year` from `holidays`, with the snapshot's shortened days; refused unless both agree."""
    recorded = snapshot().get(year)
    if recorded is None:
        covered = ", ".join(str(y) for y in sorted(snapshot()))
        raise CalendarNotCovered(
            f"the Russian production calendar knows the years {covered}, not {year}"
        )
    off, worked = from_holidays(year)
    if (off, worked) != (recorded.weekdays_off, recorded.working_weekends):
        version = importlib.metadata.version("holidays")
        raise CalendarNotCovered(
            f"holidays {version} and the shipped production calendar disagree on {year}: "
            "install the version the project pins"
        )
    return ProductionYear(off, worked, recorded.shortened)


class RussianBusinessCalendar(BusinessCalendar):
    """Working hours by the Russian production calendar, in `timezone` (Moscow by default).

    `office_hours` are a full day's (10:00-19:00 by default); a pre-holiday day ends an
    hour earlier.  A day of a year the calendar does not cover raises `CalendarNotCovered`.
    """

    def __init__(
        self, *, timezone: str = "Europe/Moscow", office_hours: tuple[time, time] = OFFICE_HOURS
    ) -> None:
        self._timezone = timezone
        self._opens, self._closes = office_hours

    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def years(self) -> tuple[int, ...]:
        """The years this calendar knows."""
        return tuple(sorted(snapshot()))

    def working_hours(self, day: date) -> tuple[time, time] | None:
        year = production_year(day.year)
        if not year.works(day):
            return None
        if day not in year.shortened:
            return self._opens, self._closes
        closes = datetime.combine(day, self._closes) - PRE_HOLIDAY_CUT
        return self._opens, closes.time()
