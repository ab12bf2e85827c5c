"""The lists an order's history holds and its state does not: every supplement, claim and
hours entry, for people to read.

An order's state keeps only what the rules read (the latest claim, the hours summed), so
it stays the same size however long its history grows and loading it costs the same
(issue 12); the history, which a store gives for audit (`WorkOrders.history`), keeps
everything, and these read the lists from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from komtet_works.domain.events import (
    ClaimAccepted,
    ClaimFiled,
    ClaimRejected,
    Event,
    HoursLogged,
    RequestSupplemented,
    ReworkStarted,
)
from komtet_works.domain.works import Claim, ClaimOutcome, TimeEntry

__all__ = ["claims", "supplements", "time_entries"]

#: The events that decide the latest claim, and how.
_OUTCOMES: Final[dict[type[Event], ClaimOutcome]] = {
    ClaimAccepted: ClaimOutcome.REFUND,
    ClaimRejected: ClaimOutcome.REJECT,
    ReworkStarted: ClaimOutcome.REWORK,
}


def supplements(history: Iterable[Event]) -> tuple[str, ...]:
    """The customer's supplements to the request (rule L3), oldest first."""
    return tuple(e.text for e in history if isinstance(e, RequestSupplemented))


def claims(history: Iterable[Event]) -> tuple[Claim, ...]:
    """Every claim filed (rules C1-C5), oldest first, each with its outcome once decided:
    a decision is of the claim filed last, as the order's `works.claim` is."""
    filed: list[Claim] = []
    for event in history:
        if isinstance(event, ClaimFiled):
            filed.append(Claim(event.at, event.text, remedy=event.remedy))
        elif (outcome := _OUTCOMES.get(type(event))) is not None:
            filed[-1] = attrs.evolve(filed[-1], outcome=outcome)
    return tuple(filed)


def time_entries(history: Iterable[Event]) -> tuple[TimeEntry, ...]:
    """The hours staff logged (rule H1), oldest first; their sum is `works.spent_hours`."""
    return tuple(
        TimeEntry(e.actor.id, e.at, e.hours, e.note) for e in history if isinstance(e, HoursLogged)
    )
