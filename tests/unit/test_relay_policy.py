"""The relay's policy (when a failed message is tried again, when it is parked), and its hook."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works.adapters.memory import InMemoryNotifier, InMemoryWorkOrders, ManualClock
from komtet_works.domain.errors import InvalidInput
from komtet_works.ports import CompletionDateFacts, Message
from komtet_works.relay import RelayPolicy, relay
from komtet_works.testing.orders import START, requested


@pytest.mark.rule("D-RELAY-RETRIES")
def test_the_default_policy_waits_doubling_minutes_then_hours_and_parks_after_ten() -> None:
    """1, 2, 4, 8, 16, 32 minutes, then hourly; the tenth failed try parks the message."""
    policy = RelayPolicy()
    waits = [policy.retry_at(n, START) for n in range(1, 11)]
    minutes = [None if at is None else int((at - START).total_seconds()) // 60 for at in waits]
    assert [1, 2, 4, 8, 16, 32, 60, 60, 60, None] == minutes


@pytest.mark.rule("D-RELAY-RETRIES")
@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    first=st.integers(min_value=1, max_value=3600),
    longest=st.integers(min_value=1, max_value=86_400),
    most=st.integers(min_value=1, max_value=10_000),
)
def test_every_wait_is_positive_and_capped_and_only_the_last_try_parks(
    attempts: int, first: int, longest: int, most: int
) -> None:
    """For every policy and try: a wait in (0, longest], or None exactly from max_attempts."""
    policy = RelayPolicy(
        max_attempts=most,
        first_retry=timedelta(seconds=first),
        longest_retry=timedelta(seconds=longest),
    )
    at = policy.retry_at(attempts, START)
    assert (attempts >= most) == (at is None)
    if at is not None:
        assert timedelta(0) < at - START <= timedelta(seconds=longest)


@pytest.mark.parametrize(
    "wrong",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"first_retry": timedelta(0)},
        {"longest_retry": -timedelta(seconds=1)},
        {"lease": timedelta(0)},
    ],
)
def test_a_policy_that_cannot_work_is_refused(wrong: dict[str, object]) -> None:
    """No attempts, or a wait or lease that is not positive: invalid_input."""
    with pytest.raises(InvalidInput):
        RelayPolicy(**wrong)  # type: ignore[arg-type]


def test_the_after_sent_hook_hears_of_each_message_that_went_out_and_when() -> None:
    """relay(after_sent=...) is told (message, sent at) for each message sent, none other."""
    clock = ManualClock(START)
    orders = InMemoryWorkOrders()
    order = requested("wo-1")
    message = Message("m-1", "wo-1", "cust-1", CompletionDateFacts(START.add(days=1)))
    orders.save(order, expected_version=0, messages=[message])
    heard: list[tuple[Message, datetime]] = []
    assert 1 == relay(
        orders,
        InMemoryNotifier(clock),
        clock=clock,
        after_sent=lambda sent, at: heard.append((sent, at)),
    )
    assert [(message, START)] == heard


def test_a_hook_that_fails_after_a_send_neither_fails_the_message_nor_resends_it() -> None:
    """The message went out and is marked sent; the hook's error is logged, nothing resent."""
    clock = ManualClock(START)
    orders = InMemoryWorkOrders()
    message = Message("m-1", "wo-1", "cust-1", CompletionDateFacts(START.add(days=1)))
    orders.save(requested("wo-1"), expected_version=0, messages=[message])
    notifier = InMemoryNotifier(clock)

    def broken(sent: Message, at: datetime) -> None:
        raise RuntimeError("the recorder is down")

    assert 1 == relay(orders, notifier, clock=clock, after_sent=broken)
    clock.advance(timedelta(days=1))
    assert (0, [], 1) == (
        relay(orders, notifier, clock=clock),
        list(orders.pending()),
        len(notifier.sent),
    )
