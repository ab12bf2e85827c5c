"""Policy: the answers to the questions the service description leaves open (D-*)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import ClaimWindowMeasure, InvalidInput, Policy, PriceLock
from strategies import ZONES, policies


@pytest.mark.rule("D-CLAIM-WINDOW")
def test_the_claim_window_is_three_days_of_elapsed_time_by_default() -> None:
    """By default a claim may be filed for 72 hours of elapsed time after the notice."""
    policy = Policy()
    assert timedelta(days=3) == policy.claim_window
    assert ClaimWindowMeasure.ELAPSED is policy.claim_window_measure


@pytest.mark.rule("D-CLAIM-WINDOW")
def test_the_provider_is_in_moscow_by_default() -> None:
    """Calendar days are counted in the provider's zone, Europe/Moscow unless a host says."""
    assert "Europe/Moscow" == Policy().provider_timezone


@pytest.mark.rule("D-QUOTE-VALIDITY")
def test_a_quote_is_payable_for_seven_days_by_default() -> None:
    """The default validity of a quote is one week."""
    assert timedelta(days=7) == Policy().quote_valid_for


@pytest.mark.rule("D-PRICE-LOCK")
def test_the_price_is_locked_at_the_estimate_by_default() -> None:
    """A quote fixes the price until it expires, unless a host locks it at payment."""
    assert PriceLock.AT_ESTIMATE is Policy().price_lock


@pytest.mark.rule("D-CLAIMS")
def test_one_claim_per_order_by_default() -> None:
    """An order may have one claim unless a host allows more."""
    assert 1 == Policy().max_claims


@pytest.mark.rule("D-CANCELLATION")
def test_cancelling_before_the_works_is_allowed_by_default() -> None:
    """A customer may cancel after paying and before the works start."""
    assert Policy().cancel_before_start is True


@pytest.mark.rule("D-CLAIM-WINDOW", "D-QUOTE-VALIDITY")
@pytest.mark.parametrize("field", ["claim_window", "quote_valid_for"])
@given(length=st.timedeltas(max_value=timedelta(0)))
def test_a_window_that_is_not_positive_is_refused(field: str, length: timedelta) -> None:
    """A claim window or quote validity of zero or less cannot be a policy."""
    with pytest.raises(InvalidInput) as refused:
        Policy(**{field: length})  # type: ignore[arg-type]
    assert "invalid_input" == refused.value.code
    assert field == refused.value.field


@pytest.mark.rule("D-CLAIM-WINDOW")
@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "Europe/Moscou", "+25:00", "", "../etc/passwd", "x" * 300]
)
def test_an_unknown_provider_time_zone_is_refused(zone: str) -> None:
    """An unknown or malformed provider time zone is invalid input, never a crash."""
    with pytest.raises(InvalidInput) as refused:
        Policy(provider_timezone=zone)
    assert "invalid_input" == refused.value.code
    assert "provider_timezone" == refused.value.field


@pytest.mark.rule("D-CLAIMS")
@given(limit=st.integers(max_value=0))
def test_fewer_than_one_claim_per_order_is_refused(limit: int) -> None:
    """max_claims below one would make the promised claim impossible."""
    with pytest.raises(InvalidInput) as refused:
        Policy(max_claims=limit)
    assert "max_claims" == refused.value.field


@pytest.mark.rule("D-CLAIM-WINDOW", "D-QUOTE-VALIDITY", "D-PRICE-LOCK", "D-CLAIMS")
@given(policy=policies())
def test_every_valid_answer_makes_a_policy(policy: Policy) -> None:
    """Any positive windows, known zone, measure, lock and claim limit are accepted as given."""
    assert policy == Policy(
        claim_window=policy.claim_window,
        claim_window_measure=policy.claim_window_measure,
        provider_timezone=policy.provider_timezone,
        quote_valid_for=policy.quote_valid_for,
        price_lock=policy.price_lock,
        max_claims=policy.max_claims,
        cancel_before_start=policy.cancel_before_start,
    )
    assert policy.provider_timezone in ZONES
