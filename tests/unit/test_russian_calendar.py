"""The Russian production calendar: holidays, transfers, working weekends, shortened days."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Final

import pendulum
import pytest

from komtet_works import CalendarNotCovered
from komtet_works.adapters import RussianBusinessCalendar, russian_calendar
from komtet_works.adapters.russian_calendar import from_holidays, production_year, snapshot
from komtet_works.domain.scheduling import finish_after

MOSCOW: Final = "Europe/Moscow"
YEARS: Final = (2025, 2026, 2027)
#: The non-working holidays of the Labour Code, art. 112 (month, day).
STATUTORY: Final = {(1, d) for d in range(1, 9)} | {
    (2, 23),
    (3, 8),
    (5, 1),
    (5, 9),
    (6, 12),
    (11, 4),
}


def every_day(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def due(
    calendar: RussianBusinessCalendar, start: pendulum.DateTime, hours: str
) -> pendulum.DateTime:
    return finish_after(
        start, Decimal(hours), zone=calendar.timezone, working_hours=calendar.working_hours
    )


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_the_snapshot_and_holidays_agree_on_every_day(year: int) -> None:
    """Each day of 2025-2027 is worked in the shipped snapshot exactly when `holidays` says so."""
    off, worked = from_holidays(year)
    recorded = snapshot()[year]
    expected = {
        day: (day.isoweekday() <= 5 and day not in off) or day in worked for day in every_day(year)
    }
    assert expected == {day: recorded.works(day) for day in every_day(year)}


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_shortened_days_are_working_days_before_holidays(year: int) -> None:
    """A shortened day is worked and followed by days off up to a holiday; every working day
    right before a statutory holiday is shortened (art. 95)."""
    calendar = RussianBusinessCalendar()
    recorded = snapshot()[year]
    for day in recorded.shortened:
        assert calendar.working_hours(day) is not None
        after = day + timedelta(days=1)
        while (after.month, after.day) not in STATUTORY:
            assert calendar.working_hours(after) is None
            after += timedelta(days=1)
    before_holidays = {
        day
        for day in every_day(year)
        if recorded.works(day)
        and ((day + timedelta(days=1)).month, (day + timedelta(days=1)).day) in STATUTORY
    }
    assert set() == before_holidays - recorded.shortened


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 9), None),  # a transferred day off (from Saturday 3 January)
        (date(2026, 1, 12), (time(10), time(19))),  # the first working day of 2026
        (date(2026, 3, 9), None),  # Women's Day falls on a Sunday: Monday is off
        (date(2025, 11, 1), (time(10), time(18))),  # a working Saturday, and pre-holiday
        (date(2025, 12, 31), None),  # transferred from Sunday 5 January 2025
        (date(2026, 4, 30), (time(10), time(18))),  # before 1 May: one hour less
        (date(2027, 2, 20), (time(10), time(18))),  # a working Saturday, and pre-holiday
        (date(2027, 2, 21), None),  # an ordinary Sunday
        (date(2026, 3, 10), (time(10), time(19))),  # an ordinary Tuesday
    ],
)
@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_working_hours_follow_the_production_calendar(
    day: date, expected: tuple[time, time] | None
) -> None:
    """Holidays, transfers, working weekends and shortened days, as the decrees set them."""
    assert expected == RussianBusinessCalendar().working_hours(day)


@pytest.mark.rule("D-BUSINESS-CALENDAR", "L4")
def test_an_hour_paid_on_new_years_eve_is_due_after_the_new_year_holidays() -> None:
    """1 hour paid on 31 December 2025 at 18:30 MSK is due on 12 January 2026, 11:00."""
    start = pendulum.datetime(2025, 12, 31, 18, 30, tz=MOSCOW)
    assert pendulum.datetime(2026, 1, 12, 11, tz=MOSCOW) == due(
        RussianBusinessCalendar(), start, "1"
    )


@pytest.mark.rule("D-BUSINESS-CALENDAR", "L4")
def test_a_pre_holiday_day_ends_an_hour_early() -> None:
    """2 hours from 17:00 on 30 April 2026 (closing at 18:00) end on Monday 4 May, 11:00."""
    start = pendulum.datetime(2026, 4, 30, 17, tz=MOSCOW)
    assert pendulum.datetime(2026, 5, 4, 11, tz=MOSCOW) == due(
        RussianBusinessCalendar(), start, "2"
    )


@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_configured_office_hours_and_zone() -> None:
    """Another zone and hours: the same days, the host's hours, one hour less before a holiday."""
    calendar = RussianBusinessCalendar(
        timezone="Asia/Yekaterinburg", office_hours=(time(9), time(18))
    )
    assert ("Asia/Yekaterinburg", (time(9), time(17)), (time(9), time(18))) == (
        calendar.timezone,
        calendar.working_hours(date(2026, 4, 30)),
        calendar.working_hours(date(2026, 4, 29)),
    )


@pytest.mark.parametrize("day", [date(2024, 12, 31), date(2028, 1, 10)])
@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_a_day_of_a_year_it_does_not_know_is_refused(day: date) -> None:
    """Past the years it covers, the calendar says so instead of guessing a working day."""
    calendar = RussianBusinessCalendar()
    assert (2025, 2026, 2027) == calendar.years
    with pytest.raises(CalendarNotCovered, match=str(day.year)):
        calendar.working_hours(day)


@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_a_completion_date_past_the_covered_years_is_refused() -> None:
    """Works running past 2027 raise calendar_not_covered, not a date counted without holidays."""
    start = pendulum.datetime(2027, 12, 30, 10, tz=MOSCOW)
    with pytest.raises(CalendarNotCovered) as refused:
        due(RussianBusinessCalendar(), start, "20")
    assert "calendar_not_covered" == refused.value.code


@pytest.mark.rule("D-BUSINESS-CALENDAR")
def test_a_holidays_package_that_disagrees_with_the_snapshot_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another holidays version with other days off for 2026: refused, never used silently."""
    production_year.cache_clear()
    monkeypatch.setattr(russian_calendar, "from_holidays", lambda year: (frozenset(), frozenset()))
    try:
        with pytest.raises(CalendarNotCovered, match="disagree on 2026"):
            RussianBusinessCalendar().working_hours(date(2026, 1, 9))
    finally:
        production_year.cache_clear()
