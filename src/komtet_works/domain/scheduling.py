"""Suggesting a completion date from working hours (rule L4: staff load and complexity)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Final

import pendulum

from komtet_works.domain.errors import InvalidInput, NoRoomInCalendar
from komtet_works.domain.instants import beyond_the_calendar
from komtet_works.domain.lifecycle import State
from komtet_works.domain.works import Urgency

if TYPE_CHECKING:
    from komtet_works.domain.work_order import WorkOrder

#: How many days in a row without working time a calendar may give before the walk gives up
#: (rule L4): longer than any run of holidays, so only a calendar with no room left ends it,
#: however long the queue.
MAX_DAYS_WITHOUT_WORK: Final = 400
_DAY: Final = timedelta(days=1)
#: A zone as the walk reads it: pendulum's, a `zoneinfo.ZoneInfo` (or, for an offset, fixed).
_Zone = pendulum.Timezone | pendulum.FixedTimezone

WorkingHours = Callable[[date], tuple[time, time] | None]

#: States whose orders wait for staff; their hours make up the queue (rule L4).
QUEUED: Final = (State.PAID, State.SCHEDULED, State.IN_PROGRESS)

#: Millionths of an hour in an hour: stores keep and sum the queue's hours as whole
#: millionths (`pricing.HOURS_PLACES` is 6), exactly, in any database.
MICROHOURS_PER_HOUR: Final = Decimal(1_000_000)


def microhours(hours: Decimal) -> int:
    """`hours` as whole millionths of an hour, rounded up (exact for estimates, which have
    at most six decimal places; a tariff figure finer than that is rounded up, never down)."""
    return int((hours * MICROHOURS_PER_HOUR).to_integral_value(ROUND_CEILING))


def from_microhours(count: int) -> Decimal:
    """Whole millionths of an hour back as hours."""
    return Decimal(count) / MICROHOURS_PER_HOUR


def queued_microhours(order: WorkOrder, *, urgent_only: bool = False) -> int | None:
    """What `order` adds to the staff's queue (stores keep this per order): its current
    quote's billable hours while it is in a `QUEUED` state; None while it is not queued.
    With `urgent_only`, what it adds to the queue of urgent orders (D-URGENCY)."""
    if order.state not in QUEUED or (urgent_only and order.works.urgency is not Urgency.URGENT):
        return None
    quote = order.ledger.current_quote
    return 0 if quote is None else microhours(quote.billable_hours)


#: States whose orders owe their completion date: past it, they are overdue (rule S3).
OWING_THE_DATE: Final = (State.SCHEDULED, State.IN_PROGRESS)


def is_overdue(order: WorkOrder, now: datetime) -> bool:
    """Rule S3: the order is scheduled or in progress and its completion date is before
    `now` (the date itself is not late yet)."""
    due = order.works.due
    return order.state in OWING_THE_DATE and due is not None and due < now


def staff_capacity(value: object) -> int:
    """How many staff work the queue in parallel (D-CAPACITY): a whole number, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"the staff capacity must be a whole number of staff, at least 1, not {value!r}",
            field="capacity",
        )
    return value


def suggest_due(
    start: pendulum.DateTime,
    *,
    own: Decimal,
    queue: Decimal,
    capacity: int,
    zone: str,
    working_hours: WorkingHours,
) -> pendulum.DateTime:
    """Rule L4 with D-CAPACITY: when the order's `own` billable hours are done after the
    `queue` ahead of it, shared by `capacity` staff working in parallel; the order itself
    is one person's work."""
    hours = queue / staff_capacity(capacity) + own
    return finish_after(start, hours, zone=zone, working_hours=working_hours)


def finish_after(
    start: pendulum.DateTime, hours: Decimal, *, zone: str, working_hours: WorkingHours
) -> pendulum.DateTime:
    """The instant by which `hours` of working time after `start` have passed.

    `hours` is the staff's queue plus the order's billable hours; `working_hours` gives
    each day's working time in `zone` (None: a day off, holidays included).  Refused with
    `NoRoomInCalendar` after `MAX_DAYS_WITHOUT_WORK` days in a row without working time.
    """
    if hours <= 0:
        raise InvalidInput("hours of work must be above zero", field="hours")
    left = timedelta(seconds=int((hours * 3600).to_integral_value(ROUND_CEILING)))
    try:
        done = _walk(_stdlib(start), left, pendulum.timezone(zone), working_hours)
    except OverflowError:
        raise beyond_the_calendar(start) from None
    return pendulum.instance(done).in_timezone(zone)


def _walk(now: datetime, left: timedelta, zone: _Zone, working_hours: WorkingHours) -> datetime:
    """The walk day by day, in standard-library instants (UTC): it runs on every suggestion
    and may cross years of queue, so it builds no pendulum value per day."""
    day = now.astimezone(zone).date()
    idle = 0
    while idle < MAX_DAYS_WITHOUT_WORK:
        span = working_hours(day)
        begin = closes = now
        if span is not None:
            begin, closes = max(_at(day, span[0], zone), now), _at(day, span[1], zone)
        if begin < closes:
            available = closes - begin
            if left <= available:
                return begin + left
            left -= available
            idle = 0
        else:
            idle += 1
        day += _DAY
    raise NoRoomInCalendar(
        f"the business calendar has no working time in {MAX_DAYS_WITHOUT_WORK} days in a row "
        f"from {day - MAX_DAYS_WITHOUT_WORK * _DAY}"
    )


def _stdlib(instant: datetime) -> datetime:
    """`instant` as a standard-library datetime in UTC (pendulum's arithmetic on a UTC
    instant of the standard library's timezone drops the zone)."""
    utc = instant.astimezone(UTC)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)


@functools.lru_cache(maxsize=16_384)
def _at(day: date, wall: time, zone: _Zone) -> datetime:
    """The instant (UTC) of a wall-clock time of `day` in `zone`; where the clock is set
    back (the time happens twice) or forward (it never happens), the later instant, as
    pendulum reads such a time.  Remembered: each suggestion walks the same days again
    (a pure function of its arguments and the time-zone rules)."""
    first = datetime.combine(day, wall, zone)
    return max(first.astimezone(UTC), first.replace(fold=1).astimezone(UTC))
