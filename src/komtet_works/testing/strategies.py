"""Hypothesis strategies for work orders with any history, for property and stateful tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import pendulum
from hypothesis import strategies as st

from komtet_works.domain.errors import KomtetWorksError
from komtet_works.domain.lifecycle import Action, allowed_actions
from komtet_works.domain.work_order import WorkOrder
from komtet_works.testing.orders import requested, take

#: Zones with odd offsets (+05:30, -03:30, +10:30/+11 DST) as well as the provider's.
ZONES: Final = ("UTC", "Europe/Moscow", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe")

#: Any text, NUL and control characters included (hypothesis leaves out lone surrogates).
texts: Final = st.text(max_size=40)
required_texts: Final = texts.filter(str.strip)

instants: Final = st.builds(
    lambda moment, zone: pendulum.instance(moment).in_tz(zone),
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of a UTC strategy
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.sampled_from(ZONES),
)

hours: Final = st.decimals(min_value="0.01", max_value="9999", places=2).map(str)

delays: Final = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))


def actions_for(order: WorkOrder) -> list[Action]:
    return sorted(allowed_actions(order.state), key=lambda a: a.value)


@st.composite
def histories(draw: st.DrawFn, *, max_steps: int = 20) -> WorkOrder:
    """An order after a random walk through the lifecycle; refused steps are left out."""
    order = requested(
        draw(required_texts),
        customer_id=draw(required_texts),
        problem=draw(required_texts),
        at=draw(instants),
    )
    for _ in range(draw(st.integers(0, max_steps))):
        actions = actions_for(order)
        if not actions:
            break
        action = draw(st.sampled_from(actions))
        at = order.last_step_at + draw(delays)
        try:
            order = take(order, action, at, text=draw(texts), hours=draw(hours))
        except KomtetWorksError:
            continue
    return order
