"""Deadlines that would fall past 9999-12-31, where Python's datetimes end, are refused."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pendulum
import pytest

from komtet_works import ClaimWindowMeasure, InvalidInput, Policy, Tariff, parse_hours, price
from komtet_works.domain.scheduling import finish_after

LAST_DAY = pendulum.datetime(9999, 12, 30, 12, tz="UTC")


@pytest.mark.rule("C1", "D-CLAIM-WINDOW")
@pytest.mark.parametrize("measure", list(ClaimWindowMeasure))
def test_a_claim_deadline_past_the_year_9999_is_invalid_input(
    measure: ClaimWindowMeasure,
) -> None:
    """A notice sent on 9999-12-30 has no representable deadline: `invalid_input`, not a crash."""
    with pytest.raises(InvalidInput) as refused:
        Policy(claim_window_measure=measure).claim_deadline(LAST_DAY)
    assert "invalid_input" == refused.value.code


@pytest.mark.rule("P7", "D-QUOTE-VALIDITY")
def test_a_quote_payable_past_the_year_9999_is_invalid_input() -> None:
    """A quote issued on 9999-12-30 cannot be payable for 7 days: `invalid_input`."""
    with pytest.raises(InvalidInput):
        price(
            Tariff(),
            parse_hours("1"),
            maintained_site=False,
            issued_at=LAST_DAY,
            valid_for=timedelta(days=7),
        )


@pytest.mark.rule("L4")
def test_a_completion_date_past_the_year_9999_is_invalid_input() -> None:
    """Working hours that run past the calendar's end are `invalid_input`, not an OverflowError."""
    with pytest.raises(InvalidInput):
        finish_after(
            LAST_DAY,
            Decimal(100),
            zone="Europe/Moscow",
            working_hours=lambda _: (time(10), time(19)),
        )
