"""Suggesting a completion date: working hours counted through a business calendar (L4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import InvalidInput
from komtet_works.domain.errors import NoRoomInCalendar
from komtet_works.domain.scheduling import MAX_DAYS_WITHOUT_WORK, finish_after
from strategies import DST_ZONE, elapsed, hours, instants

MOSCOW = "Europe/Moscow"
OFFICE = (time(10), time(19))
#: New Year holidays and Women's Day of 2026 (Moscow), days off whatever the weekday.
HOLIDAYS = frozenset({date(2026, 1, day) for day in range(1, 9)} | {date(2026, 3, 9)})


def office_hours(day: date) -> tuple[time, time] | None:
    """Monday to Friday, 10:00 to 19:00, except holidays."""
    if day in HOLIDAYS or day.isoweekday() > 5:
        return None
    return OFFICE


def never(day: date) -> tuple[time, time] | None:
    return None


def moscow(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(year, month, day, hour, minute, tz=MOSCOW)


@pytest.mark.rule("L4")
@pytest.mark.parametrize(
    ("start", "work", "expected"),
    [
        # Monday 2 March 2026, before opening: from 10:00
        (moscow(2026, 3, 2, 8), "2", moscow(2026, 3, 2, 12)),
        # in the middle of the day
        (moscow(2026, 3, 2, 11, 30), "1.25", moscow(2026, 3, 2, 12, 45)),
        # exactly filling the day ends at closing time
        (moscow(2026, 3, 2, 10), "9", moscow(2026, 3, 2, 19)),
        # spills over into Tuesday
        (moscow(2026, 3, 2, 18), "2", moscow(2026, 3, 3, 11)),
        # after closing: starts the next working day
        (moscow(2026, 3, 2, 20), "1", moscow(2026, 3, 3, 11)),
        # Friday afternoon to Tuesday: the weekend and the Monday 9 March holiday skipped
        (moscow(2026, 3, 6, 18), "3", moscow(2026, 3, 10, 12)),
        # a week of work: 45 hours from Monday morning is Friday closing
        (moscow(2026, 3, 2, 9), "45", moscow(2026, 3, 6, 19)),
    ],
)
def test_work_is_counted_in_working_hours_only(
    start: pendulum.DateTime, work: str, expected: pendulum.DateTime
) -> None:
    """Nights, weekends and holidays have no working time."""
    assert expected == finish_after(start, Decimal(work), zone=MOSCOW, working_hours=office_hours)


@pytest.mark.rule("L4")
def test_fractions_of_a_second_of_work_round_up_to_a_whole_second() -> None:
    """0.0001 h is 0.36 s of work: the suggestion is one second after opening."""
    start = moscow(2026, 3, 2, 10)
    assert start.add(seconds=1) == finish_after(
        start, Decimal("0.0001"), zone=MOSCOW, working_hours=office_hours
    )


@pytest.mark.rule("L4")
def test_the_start_may_be_given_in_any_zone() -> None:
    """A start in UTC is read in the calendar's zone: 07:00 UTC is 10:00 in Moscow."""
    start = pendulum.datetime(2026, 3, 2, 7, tz="UTC")
    assert moscow(2026, 3, 2, 12) == finish_after(
        start, Decimal(2), zone=MOSCOW, working_hours=office_hours
    )


@pytest.mark.rule("L4")
def test_a_working_day_shortened_by_the_spring_dst_change_has_one_hour_less() -> None:
    """Berlin, 29 March 2026, working 01:00-05:00 across the skipped hour: 3 real hours."""

    def night_shift(day: date) -> tuple[time, time] | None:
        return (time(1), time(5))

    start = pendulum.datetime(2026, 3, 29, 1, tz=DST_ZONE)
    assert pendulum.datetime(2026, 3, 29, 5, tz=DST_ZONE) == finish_after(
        start, Decimal(3), zone=DST_ZONE, working_hours=night_shift
    )
    assert pendulum.datetime(2026, 3, 30, 2, tz=DST_ZONE) == finish_after(
        start, Decimal(4), zone=DST_ZONE, working_hours=night_shift
    )


@pytest.mark.rule("L4")
@pytest.mark.parametrize("work", ["0", "-1", "-0.000001"])
def test_no_work_cannot_be_scheduled(work: str) -> None:
    """Zero or negative hours of work are `invalid_input`."""
    with pytest.raises(InvalidInput) as refused:
        finish_after(moscow(2026, 3, 2, 10), Decimal(work), zone=MOSCOW, working_hours=office_hours)
    assert "hours" == refused.value.field


@pytest.mark.rule("L4")
def test_a_calendar_without_working_time_is_refused_with_its_own_code() -> None:
    """No working time in 400 days in a row: `no_room_in_calendar`, not an endless search."""
    assert 400 == MAX_DAYS_WITHOUT_WORK
    with pytest.raises(NoRoomInCalendar) as refused:
        finish_after(moscow(2026, 3, 2, 10), Decimal(1), zone=MOSCOW, working_hours=never)
    assert "no_room_in_calendar" == refused.value.code


@pytest.mark.rule("L4")
def test_a_calendar_that_runs_out_of_working_time_is_refused() -> None:
    """Working days until the end of 2026, then none: work beyond them has no room."""

    def until_2027(day: date) -> tuple[time, time] | None:
        return office_hours(day) if day.year < 2027 else None

    with pytest.raises(NoRoomInCalendar):
        finish_after(moscow(2026, 12, 1, 10), Decimal(400), zone=MOSCOW, working_hours=until_2027)


@pytest.mark.rule("L4")
def test_years_of_queue_fit_when_the_calendar_has_working_time() -> None:
    """4,000 queued orders of 2 h and one more: years of working days, a date all the same,
    exactly that much working time later (the limit counts idle days, not all days)."""
    start = moscow(2026, 3, 2, 10)
    work = Decimal(4_000 * 2 + 2)
    done = finish_after(start, work, zone=MOSCOW, working_hours=office_hours)
    assert done.year == 2029
    assert timedelta(hours=int(work)) == working_time_between(start, done, MOSCOW)


@pytest.mark.rule("L4")
def test_a_wall_clock_time_set_back_or_skipped_is_read_as_pendulum_reads_it() -> None:
    """Office hours opening at 02:30 on the EU's DST days: the later instant of a time that
    happens twice, the instant after the switch of one that never happens."""

    def night_shift(day: date) -> tuple[time, time] | None:
        return (time(2, 30), time(4))

    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = pendulum.datetime(day.year, day.month, day.day, tz="Europe/Berlin")
        opens = pendulum.datetime(day.year, day.month, day.day, 2, 30, tz="Europe/Berlin")
        work = Decimal("0.25")
        assert opens.add(minutes=15) == finish_after(
            start, work, zone="Europe/Berlin", working_hours=night_shift
        )


# --- properties -------------------------------------------------------------------------


def working_time_between(start: datetime, end: datetime, zone: str) -> timedelta:
    """The oracle: working time of `office_hours` in [start, end], summed day by day with
    the standard library alone."""
    tz = ZoneInfo(zone)
    total = timedelta(0)
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        span = office_hours(day)
        if span is not None:
            opens = datetime.combine(day, span[0], tz).astimezone(UTC)
            closes = datetime.combine(day, span[1], tz).astimezone(UTC)
            begin, finish = max(opens, start.astimezone(UTC)), min(closes, end.astimezone(UTC))
            total += max(finish - begin, timedelta(0))
        day += timedelta(days=1)
    return total


WORK = hours(max_value=Decimal(200))


@pytest.mark.rule("L4")
@given(start=instants(min_timestamp=1_704_067_200, max_timestamp=1_830_297_600), work=WORK)
def test_the_suggestion_is_exactly_the_hours_of_working_time_after_the_start(
    start: pendulum.DateTime, work: Decimal
) -> None:
    """The suggestion is the hours (to the second) of working time later, inside working hours."""
    done = finish_after(start, work, zone=MOSCOW, working_hours=office_hours)
    seconds = int((work * 3600).to_integral_value(ROUND_CEILING))
    assert timedelta(seconds=seconds) == working_time_between(start, done, MOSCOW)
    local = done.in_timezone(MOSCOW)
    span = office_hours(local.date())
    assert span is not None
    assert span[0] < local.time() <= span[1]
    assert elapsed(start, done) >= timedelta(seconds=seconds)


@pytest.mark.rule("L4")
@given(
    start=instants(min_timestamp=1_704_067_200, max_timestamp=1_830_297_600),
    pair=st.tuples(WORK, WORK).map(sorted),
)
def test_more_work_is_never_done_sooner(start: pendulum.DateTime, pair: list[Decimal]) -> None:
    """The suggestion never moves earlier when the hours grow."""
    less, more = pair
    assert finish_after(start, less, zone=MOSCOW, working_hours=office_hours) <= finish_after(
        start, more, zone=MOSCOW, working_hours=office_hours
    )
