"""The claim window: its deadline to the second, in elapsed time and in calendar days, across
DST changes; voiding by customer changes; closing (C1-C4, D-CLAIM-WINDOW, D-CLOCK)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import (
    Actor,
    ActorNotAllowed,
    Backup,
    ClaimLimitReached,
    ClaimOutcome,
    ClaimVoidCustomerChanges,
    ClaimWindowClosed,
    ClaimWindowMeasure,
    ClaimWindowOpen,
    InvalidInput,
    NaiveDatetime,
    Policy,
    State,
    WorkOrder,
)
from komtet_works.domain import recorded
from komtet_works.testing.orders import STAFF, in_state, notified
from komtet_works.use_cases import CLOSING_JOB, NOTICE_RECORDER
from strategies import (
    DST_ZONE,
    ZONES,
    elapsed,
    eu_summer_time_switches,
    instants,
    instants_near_dst_switch,
    naive_datetimes,
    zones,
)

ELAPSED = Policy()
BERLIN_DAYS = Policy(
    claim_window_measure=ClaimWindowMeasure.CALENDAR_DAYS, provider_timezone=DST_ZONE
)
SECOND = timedelta(seconds=1)
THREE_DAYS = timedelta(days=3)
#: How long before the deadline a second claim is tried.
EARLIER = st.timedeltas(min_value=timedelta(0), max_value=THREE_DAYS)


def started_before(at: pendulum.DateTime) -> WorkOrder:
    """An order in progress whose last step was an hour before `at`."""
    return in_state(State.IN_PROGRESS, at=at.subtract(hours=5))


def completed(notice: pendulum.DateTime, policy: Policy = ELAPSED) -> WorkOrder:
    """An order whose completion notice was sent at `notice` under `policy`."""
    return notified(started_before(notice), at=notice, sent_at=notice, policy=policy)


def claim(order: WorkOrder, at: datetime, policy: Policy = ELAPSED) -> WorkOrder:
    customer = Actor.customer(order.customer_id)
    return order.claim(by=customer, at=at, text="the errors are back", policy=policy)


def deadline_of(order: WorkOrder) -> pendulum.DateTime:
    deadline = order.works.claim_deadline
    assert deadline is not None
    return deadline


def in_utc(instant: datetime) -> datetime:
    """The instant as a standard-library UTC datetime (no pendulum in the oracle)."""
    utc = instant.astimezone(UTC)
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def same_wall_clock_later(notice: datetime, zone: str, window: timedelta) -> datetime:
    """The oracle of CALENDAR_DAYS: the notice's wall-clock time in `zone`, `window` later.

    Where that wall-clock time is skipped or repeated by a DST change, the later of its two
    readings counts (the customer keeps the longer window).
    """
    local = in_utc(notice).astimezone(ZoneInfo(zone)).replace(tzinfo=None) + window
    readings = (local.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC) for fold in (0, 1))
    return max(readings)


def instant(text: str) -> pendulum.DateTime:
    parsed = pendulum.parse(text)
    assert isinstance(parsed, pendulum.DateTime)
    return parsed


def assert_window_ends_at(
    order: WorkOrder,
    deadline: datetime,
    policy: Policy,
    zone: str | pendulum.Timezone | pendulum.FixedTimezone,
    *,
    earlier: timedelta = timedelta(hours=1),
) -> None:
    """A claim at `deadline`, or `earlier` before it, is filed; one at deadline + 1 s, or
    + 1 us, is refused.  Every instant is shown in `zone`."""
    shown = pendulum.instance(deadline).in_timezone(zone)
    assert State.CLAIMED is claim(order, shown, policy).state
    before = max(shown - earlier, order.last_step_at).in_timezone(zone)
    assert State.CLAIMED is claim(order, before, policy).state
    for late in (shown + SECOND, shown + timedelta(microseconds=1)):
        with pytest.raises(ClaimWindowClosed) as refused:
            claim(order, late, policy)
        assert "claim_window_closed" == refused.value.code
    assert State.COMPLETED is order.state


# --- C1, D-CLAIM-WINDOW: elapsed time ---------------------------------------------------


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
def test_the_deadline_example_of_the_spec() -> None:
    """Notice 03-05 12:00 +03:00: a claim at 03-08 12:00:00 is filed, at 12:00:01 refused."""
    order = completed(instant("2026-03-05T12:00:00+03:00"))
    assert instant("2026-03-08T12:00:00+03:00") == deadline_of(order)
    assert State.CLAIMED is claim(order, instant("2026-03-08T12:00:00+03:00")).state
    with pytest.raises(ClaimWindowClosed) as refused:
        claim(order, instant("2026-03-08T12:00:01+03:00"))
    assert "until 2026-03-08T12:00:00+03:00" in refused.value.message


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(notice=instants(), data=st.data())
def test_in_elapsed_time_the_window_is_exactly_72_hours_to_the_second(
    notice: pendulum.DateTime, data: st.DataObject
) -> None:
    """Any notice instant, any zone: the deadline is 72 h later, inclusive to the second."""
    order = completed(notice)
    deadline = deadline_of(order)
    assert THREE_DAYS == elapsed(notice, deadline)
    assert_window_ends_at(order, deadline, ELAPSED, data.draw(zones()), earlier=data.draw(EARLIER))


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(
    notice=instants(),
    window=st.timedeltas(min_value=SECOND, max_value=timedelta(days=30)),
    zone=zones(),
)
def test_in_elapsed_time_any_window_is_exact(
    notice: pendulum.DateTime, window: timedelta, zone: pendulum.Timezone
) -> None:
    """A host's window of any length is measured exactly, to the microsecond."""
    policy = Policy(claim_window=window)
    order = completed(notice, policy)
    assert window == elapsed(notice, deadline_of(order))
    assert_window_ends_at(order, deadline_of(order), policy, zone)


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(notice=instants_near_dst_switch(), data=st.data())
def test_in_elapsed_time_a_dst_change_does_not_bend_the_window(
    notice: pendulum.DateTime, data: st.DataObject
) -> None:
    """Notices in Berlin just before a DST switch still get exactly 72 hours."""
    order = completed(notice)
    assert THREE_DAYS == elapsed(notice, deadline_of(order))
    zone = data.draw(st.sampled_from([DST_ZONE, "UTC"]))
    within_two_hours = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))
    assert_window_ends_at(
        order, deadline_of(order), ELAPSED, zone, earlier=data.draw(within_two_hours)
    )


# --- C1, D-CLAIM-WINDOW: calendar days --------------------------------------------------


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@pytest.mark.parametrize(
    ("notice", "calendar_deadline", "elapsed_deadline", "hours"),
    [
        (  # spring forward: the window loses an hour
            "2026-03-27T12:00:00+01:00",
            "2026-03-30T12:00:00+02:00",
            "2026-03-30T13:00:00+02:00",
            71,
        ),
        (  # fall back: the window gains an hour
            "2026-10-23T12:00:00+02:00",
            "2026-10-26T12:00:00+01:00",
            "2026-10-26T11:00:00+01:00",
            73,
        ),
    ],
)
def test_calendar_days_across_a_dst_change_in_berlin(
    notice: str, calendar_deadline: str, elapsed_deadline: str, hours: int
) -> None:
    """The same wall-clock time 3 days later is 71 or 73 hours; elapsed time stays 72."""
    sent = instant(notice).in_timezone(DST_ZONE)
    by_calendar = deadline_of(completed(sent, BERLIN_DAYS))
    by_elapsed = deadline_of(completed(sent, ELAPSED))
    assert instant(calendar_deadline) == by_calendar
    assert timedelta(hours=hours) == elapsed(sent, by_calendar)
    assert instant(elapsed_deadline) == by_elapsed
    assert THREE_DAYS == elapsed(sent, by_elapsed)


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(notice=instants(), zone=st.sampled_from(ZONES), data=st.data())
def test_in_calendar_days_the_deadline_is_the_same_wall_clock_three_days_later(
    notice: pendulum.DateTime, zone: str, data: st.DataObject
) -> None:
    """Any notice, any provider zone: the same wall-clock time 3 calendar days later."""
    policy = Policy(claim_window_measure=ClaimWindowMeasure.CALENDAR_DAYS, provider_timezone=zone)
    order = completed(notice, policy)
    expected = same_wall_clock_later(notice, zone, THREE_DAYS)
    assert expected == in_utc(deadline_of(order))
    assert_window_ends_at(order, expected, policy, data.draw(zones()), earlier=data.draw(EARLIER))


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(
    notice=instants(),
    window=st.timedeltas(min_value=SECOND, max_value=timedelta(days=30)),
    zone=st.sampled_from(ZONES),
)
def test_in_calendar_days_a_window_with_hours_keeps_them_on_the_wall_clock(
    notice: pendulum.DateTime, window: timedelta, zone: str
) -> None:
    """A window of days, hours and fractions of a second is all added to the wall clock."""
    policy = Policy(
        claim_window=window,
        claim_window_measure=ClaimWindowMeasure.CALENDAR_DAYS,
        provider_timezone=zone,
    )
    order = completed(notice, policy)
    assert same_wall_clock_later(notice, zone, window) == in_utc(deadline_of(order))


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(notice=instants_near_dst_switch(), data=st.data())
def test_in_calendar_days_notices_before_a_dst_switch_get_71_72_or_73_hours(
    notice: pendulum.DateTime, data: st.DataObject
) -> None:
    """Berlin notices before a DST switch get 71, 72 or 73 h, exact to the second."""
    order = completed(notice, BERLIN_DAYS)
    deadline = deadline_of(order)
    assert elapsed(notice, deadline) in {timedelta(hours=h) for h in (71, 72, 73)}
    wall = notice.in_timezone(DST_ZONE).add(days=3)
    if (wall.hour, wall.minute) == (deadline.hour, deadline.minute):
        assert (wall.day, wall.second, wall.microsecond) == (
            deadline.day,
            deadline.second,
            deadline.microsecond,
        )
    zone = data.draw(st.sampled_from([DST_ZONE, "UTC"]))
    within_two_hours = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))
    assert_window_ends_at(order, deadline, BERLIN_DAYS, zone, earlier=data.draw(within_two_hours))


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
def test_in_calendar_days_a_claim_in_the_first_repeated_hour_is_before_the_deadline() -> None:
    """Deadline 02:30 CET (repeated hour): a claim at 02:45 CEST, 45 minutes earlier, is filed."""
    order = completed(pendulum.datetime(2026, 10, 22, 2, 30, tz=DST_ZONE), BERLIN_DAYS)
    deadline = deadline_of(order)
    assert in_utc(instant("2026-10-25T02:30:00+01:00")) == in_utc(deadline)
    earlier = deadline.in_timezone(DST_ZONE).subtract(minutes=45)
    assert (2, 45, 0) == (earlier.hour, earlier.minute, earlier.fold)
    assert State.CLAIMED is claim(order, earlier, BERLIN_DAYS).state


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@given(
    year=st.integers(2000, 2037),
    into_the_hour=st.integers(0, 3599),
    earlier=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2)),
)
def test_in_calendar_days_a_deadline_in_the_repeated_hour_is_exact_in_berlin_time(
    year: int, into_the_hour: int, earlier: timedelta
) -> None:
    """A deadline in Berlin's repeated hour (73 h) judges claims in Berlin time by the instant."""
    sunday = eu_summer_time_switches(year)[1].in_timezone(DST_ZONE).subtract(days=3)
    notice = pendulum.datetime(sunday.year, sunday.month, sunday.day, 2, tz=DST_ZONE).add(
        seconds=into_the_hour
    )
    order = completed(notice, BERLIN_DAYS)
    deadline = deadline_of(order)
    assert timedelta(hours=73) == elapsed(notice, deadline)
    assert_window_ends_at(order, deadline, BERLIN_DAYS, DST_ZONE, earlier=earlier)


@pytest.mark.rule("D-CLAIM-WINDOW")
@given(notice=instants(min_timestamp=1_420_070_400))
def test_in_moscow_both_measures_agree(notice: pendulum.DateTime) -> None:
    """Moscow has had no DST change since 2015 began: calendar days are 72 hours there."""
    moscow_days = Policy(claim_window_measure=ClaimWindowMeasure.CALENDAR_DAYS)
    by_calendar = deadline_of(completed(notice, moscow_days))
    assert deadline_of(completed(notice, ELAPSED)) == by_calendar


# --- D-CLOCK ----------------------------------------------------------------------------


@pytest.mark.rule("D-CLOCK", "L7", "C1")
@given(
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)),
    recorded_later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=12)),
)
def test_the_window_runs_from_the_notices_send_time_not_from_the_step(
    delay: timedelta, recorded_later: timedelta
) -> None:
    """A notice sent late (mail down) and recorded later still: the deadline counts from
    the send time, not from the completion nor from the recording."""
    done = pendulum.datetime(2026, 3, 5, 12, tz="Europe/Moscow")
    sent, recorded = done + delay, done + delay + recorded_later
    completed_order = started_before(done).complete(by=STAFF, at=done)
    assert None is completed_order.works.claim_deadline
    order = completed_order.record_notice_sent(
        by=NOTICE_RECORDER, at=recorded, sent_at=sent, policy=ELAPSED
    )
    assert sent == order.works.notice_sent_at
    assert sent + THREE_DAYS == deadline_of(order)
    assert recorded == order.last_step_at
    assert State.COMPLETED is order.state


@pytest.mark.rule("D-CLOCK", "L13")
@given(notice=naive_datetimes() | st.sampled_from(["2026-03-05T12:00:00+03:00", None, 0]))
def test_a_notice_time_without_a_zone_is_refused(notice: object) -> None:
    """A send time that is not an aware datetime cannot start a window: invalid input."""
    at = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = started_before(at).complete(by=STAFF, at=at)
    with pytest.raises(NaiveDatetime) as refused:
        order.record_notice_sent(by=NOTICE_RECORDER, at=at, sent_at=notice, policy=ELAPSED)
    assert "invalid_input" == refused.value.code
    assert "sent_at" == refused.value.field
    assert None is order.works.notice_sent_at


# --- C2 ---------------------------------------------------------------------------------


def change(order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.record_customer_change(by=Actor.customer(order.customer_id), at=at)


@pytest.mark.rule("C2", "L6")
@given(
    after_start=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1)),
    completed_first=st.booleans(),
)
def test_a_change_at_or_after_the_start_voids_the_claim(
    after_start: timedelta, completed_first: bool
) -> None:
    """A change at the start instant, during the works or after completion voids claims."""
    start = pendulum.datetime(2026, 3, 5, 10, tz="UTC")
    order = started_before(start.add(hours=1))
    started_at = order.works.started_at
    assert started_at is not None
    notice = started_at + timedelta(hours=2)
    if completed_first:
        order = notified(order, at=notice, sent_at=notice, policy=ELAPSED)
        order = change(order, notice + after_start)
    else:
        order = change(order, started_at + after_start)
        order = notified(order, at=notice, sent_at=notice, policy=ELAPSED)
    with pytest.raises(ClaimVoidCustomerChanges) as refused:
        claim(order, notice + timedelta(hours=3))
    assert "claim_void_customer_changes" == refused.value.code


@pytest.mark.rule("C2", "L6")
def test_a_change_before_the_works_started_does_not_void_the_claim() -> None:
    """Changes recorded while the order was only scheduled leave the claim possible."""
    scheduled = in_state(State.SCHEDULED)
    at = scheduled.last_step_at
    changed = change(scheduled, at.add(minutes=10))
    backup = Backup("bk-wo-1", at.add(minutes=20), verified=True)
    started = changed.start(by=STAFF, at=at.add(minutes=20), backup=backup)
    notice = at.add(hours=2)
    order = notified(started, at=notice, sent_at=notice, policy=ELAPSED)
    assert (at.add(minutes=10),) == order.works.customer_changes
    assert State.CLAIMED is claim(order, notice.add(hours=1)).state


@pytest.mark.rule("C2", "L6", "D-CHANGES")
@given(before_start=st.booleans())
def test_the_order_of_the_steps_decides_at_one_and_the_same_instant(before_start: bool) -> None:
    """A change and the start at one instant: recorded before the start it never voids the
    claim; recorded after it, it does."""
    scheduled = in_state(State.SCHEDULED)
    at = scheduled.last_step_at.add(minutes=10)
    backup = Backup("bk-wo-1", at, verified=True)
    if before_start:
        started = change(scheduled, at).start(by=STAFF, at=at, backup=backup)
    else:
        started = change(scheduled.start(by=STAFF, at=at, backup=backup), at)
    notice = at.add(hours=2)
    order = notified(started, at=notice, sent_at=notice, policy=ELAPSED)
    assert (at,) == order.works.customer_changes
    if before_start:
        assert State.CLAIMED is claim(order, notice.add(hours=1)).state
    else:
        with pytest.raises(ClaimVoidCustomerChanges):
            claim(order, notice.add(hours=1))


@pytest.mark.rule("C2", "C1")
def test_the_window_is_checked_before_the_customer_changes() -> None:
    """Late and void: a claim after the deadline is `claim_window_closed` first."""
    notice = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = change(completed(notice), notice.add(hours=1))
    with pytest.raises(ClaimWindowClosed):
        claim(order, notice + THREE_DAYS + SECOND)


# --- C3: the claim limit ----------------------------------------------------------------


#: A host whose terms let staff reject a claim (C5): the claim limit is seen after a rejection.
REJECTING = Policy(claims_may_be_rejected=True)


def rejected(order: WorkOrder, at: pendulum.DateTime) -> WorkOrder:
    return order.resolve_claim(by=STAFF, at=at, outcome=ClaimOutcome.REJECT, policy=REJECTING)


@pytest.mark.rule("C3", "D-CLAIMS")
def test_one_claim_per_order_by_default_even_inside_the_window() -> None:
    """After a rejected claim, a second one is `claim_limit_reached`, checked before C1."""
    notice = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = rejected(claim(completed(notice), notice.add(hours=1)), notice.add(hours=2))
    assert State.COMPLETED is order.state
    assert deadline_of(completed(notice)) == deadline_of(order)
    for at in (notice.add(hours=3), notice + THREE_DAYS + SECOND):
        with pytest.raises(ClaimLimitReached) as refused:
            claim(order, at)
        assert "claim_limit_reached" == refused.value.code


@pytest.mark.rule("C3", "D-CLAIMS")
def test_a_host_may_allow_more_claims() -> None:
    """With max_claims = 2 a second claim is filed; a third is refused."""
    two = Policy(max_claims=2)
    notice = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = rejected(claim(completed(notice, two), notice.add(hours=1), two), notice.add(hours=2))
    order = rejected(claim(order, notice.add(hours=3), two), notice.add(hours=4))
    assert 2 == len(recorded.claims(order.new_events))
    with pytest.raises(ClaimLimitReached):
        claim(order, notice.add(hours=5), two)


@pytest.mark.rule("C1")
@pytest.mark.parametrize("text", ["", "   \n", 42])
def test_a_claim_must_say_something(text: object) -> None:
    """A claim's text must be non-empty text."""
    notice = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = completed(notice)
    with pytest.raises(InvalidInput) as refused:
        order.claim(
            by=Actor.customer(order.customer_id),
            at=notice.add(hours=1),
            text=text,  # type: ignore[arg-type]
            policy=ELAPSED,
        )
    assert "text" == refused.value.field


# --- C4 ---------------------------------------------------------------------------------


@pytest.mark.rule("C4")
@given(notice=instants(), policy=st.sampled_from([ELAPSED, BERLIN_DAYS]), zone=zones())
def test_an_order_closes_only_after_its_deadline(
    notice: pendulum.DateTime, policy: Policy, zone: pendulum.Timezone
) -> None:
    """Closing at the deadline is `claim_window_open`; one microsecond later it closes."""
    order = completed(notice, policy)
    deadline = deadline_of(order).in_timezone(zone)
    with pytest.raises(ClaimWindowOpen) as refused:
        order.close(by=CLOSING_JOB, at=deadline)
    assert "claim_window_open" == refused.value.code
    closed = order.close(by=CLOSING_JOB, at=deadline + timedelta(microseconds=1))
    assert State.CLOSED is closed.state


@pytest.mark.rule("C4", "L14")
def test_staff_or_the_closing_job_close_but_not_the_customer() -> None:
    """Closing is for staff and systems; a customer closing is `actor_not_allowed`."""
    notice = pendulum.datetime(2026, 3, 5, 12, tz="UTC")
    order = completed(notice)
    after = notice + THREE_DAYS + SECOND
    assert State.CLOSED is order.close(by=STAFF, at=after).state
    with pytest.raises(ActorNotAllowed):
        order.close(by=Actor.customer(order.customer_id), at=after)
