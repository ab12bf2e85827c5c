"""Any valid scenario runs to a result: refusals are results, never internal errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works.scenarios.loading import parse_scenario
from komtet_works.scenarios.runner import run_scenario
from komtet_works.scenarios.schemas import RESULT_SCHEMA, validator

CUSTOMERS = [
    {"id": "c1", "sites": ["shop.example", "blog.example"], "servers": ["vps-1"],
     "maintenance": ["shop.example"]},
    {"id": "c2", "sites": ["other.example"]},
]  # fmt: skip
START = datetime.fromisoformat("2026-03-02T10:00:00+03:00")

#: Mostly the values that let an order go on, sometimes ones the rules refuse.
people = st.sampled_from(["c1", "c1", "c1", "c2", "c9"])
texts = st.sampled_from(["the module fails again", "the module fails again", ""])
hours = st.sampled_from(["1", "2", "1", "2", "0", "NaN"])
amounts = st.sampled_from(["800.00", "1000.00", "1600.00", "2000.00", "1600", "abc"])
actions: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "request": st.fixed_dictionaries(
        {
            "customer": people,
            "target": st.sampled_from(["shop.example", "vps-1", "other.example", "x.org"]),
            "problem": texts,
        },
        optional={"hosting_fault": st.booleans()},
    ),
    "supplement": st.fixed_dictionaries({"by": people, "text": texts}),
    "estimate": st.fixed_dictionaries({"hours": hours}),
    "decline": st.fixed_dictionaries({"by": people}),
    "pay": st.fixed_dictionaries(
        {"amount": amounts},
        optional={
            "payment": st.sampled_from(["p1", "p2"]),
            "currency": st.sampled_from(["RUB", "RUB", "EUR"]),
        },
    ),
    "schedule": st.fixed_dictionaries(
        {}, optional={"due": st.integers(-2, 24 * 30).map(lambda h: START + timedelta(hours=h))}
    ),
    "cancel": st.fixed_dictionaries({"by": people}),
    "start": st.fixed_dictionaries(
        {}, optional={"backup": st.sampled_from(["ok", "failed", "unverified"])}
    ),
    "customer_change": st.fixed_dictionaries({"by": people}),
    "complete": st.just({}),
    "fail": st.fixed_dictionaries({}, optional={"restore": st.sampled_from(["ok", "failed"])}),
    "claim": st.fixed_dictionaries({"by": people, "text": texts}),
    "resolve_claim": st.fixed_dictionaries(
        {"outcome": st.sampled_from(["refund", "reject", "rework"])},
        optional={"restore": st.sampled_from(["ok", "failed"])},
    ),
    "close": st.just({}),
    "maintenance": st.fixed_dictionaries({"active": st.booleans()}),
    "withdraw": st.fixed_dictionaries(
        {"reason": st.sampled_from(["out_of_scope", "hosting_fault", "backup_impossible"])}
    ),
}
#: An order's life, in order; the generated steps follow it with other steps in between.
LIFE = ["estimate", "pay", "schedule", "start", "complete", "claim", "resolve_claim", "close"]
#: The orders, their targets, and the totals their estimates of 1 or 2 hours give.
ORDERS = {"o1": ("shop.example", ["800.00", "1600.00"]), "o2": ("vps-1", ["1000.00", "2000.00"])}


@st.composite
def life(draw: st.DrawFn, order: str) -> list[tuple[str, dict[str, Any]]]:
    """Some of an order's life, each step after a few steps of any kind."""
    steps: list[tuple[str, dict[str, Any]]] = []
    for action in LIFE[: draw(st.integers(1, len(LIFE)))]:
        for _ in range(draw(st.integers(0, 2))):
            other = draw(st.sampled_from(sorted(actions)))
            steps.append((other, draw(actions[other])))
        fields = draw(actions[action])
        if action == "pay":
            fields["amount"] = draw(st.sampled_from(ORDERS[order][1]))
        steps.append((action, fields))
    return steps


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Two orders requested, then their lives interleaved, mostly forwards in time."""
    steps: list[dict[str, Any]] = [
        {"at": START.isoformat(), "action": "request", "order": order, "customer": "c1",
         "target": target, "problem": "the module returns errors"}
        for order, (target, _) in ORDERS.items()
    ]  # fmt: skip
    lives = {order: draw(life(order)) for order in ORDERS}
    at = START
    while any(lives.values()):
        order = draw(st.sampled_from([order for order, left in lives.items() if left]))
        action, fields = lives[order].pop(0)
        at += timedelta(minutes=draw(st.integers(-30, 60 * 30)))
        if "due" in fields:
            fields["due"] = fields["due"].isoformat()
        steps.append({"at": at.isoformat(), "action": action, "order": order, **fields})
    return {"name": "random", "customers": CUSTOMERS, "steps": steps}


#: The state a refunding step passes through on its way to each settled state.
PENDING: Final = {
    "refunded": ("refunding",),
    "cancelled": ("cancelling",),
    "withdrawn": ("withdrawing",),
}
#: The states whose withdrawal refunds (the others end `withdrawn` at once).
PAID: Final = (["paid"], ["scheduled"])


def recorded(document: dict[str, Any], result: dict[str, Any], order_id: str) -> list[str]:
    """The states after the steps that must have recorded an event on `order_id`.

    Every accepted step records one, except a maintenance step (the host's directory) and a
    payment already accepted, reported again (a pay step on an order past `estimated`); a
    step that refunds records two: its intent, then the settlement (a withdrawal refunds
    only a paid order).
    """
    states: list[str] = []
    for given_step, outcome in zip(document["steps"], result["steps"], strict=True):
        if outcome["order"] != order_id or not outcome["ok"]:
            continue
        repeat = given_step["action"] == "pay" and states[-1:] != ["estimated"]
        if given_step["action"] != "maintenance" and not repeat:
            unpaid = given_step["action"] == "withdraw" and states[-1:] not in PAID
            states.extend(() if unpaid else PENDING.get(outcome["state"], ()))
            states.append(outcome["state"])
    return states


@pytest.mark.rule("I1", "I4", "L11", "L12", "K2", "K5", "W1")
@given(document=scenarios())
def test_any_valid_scenario_runs_to_a_result_that_keeps_the_invariants(
    document: dict[str, Any],
) -> None:
    """No internal error; refunds are none or all; one event per accepted step, none else;
    payment ids shared by orders: every payment refunded at most once, books reconciled."""
    result: dict[str, Any] = run_scenario(parse_scenario(document, source="generated"))
    assert [] == list(validator(RESULT_SCHEMA).iter_errors({"scenarios": [result]}))
    assert [] == result["reconciliation"]
    for payment in result["payments"].values():
        assert payment["refunded"] in ("0.00", payment["amount"])
    for order_id, order in result["orders"].items():
        assert order["refunded"] in ("0.00", order["paid"])
        assert Decimal(order["paid"]) >= 0
        assert recorded(document, result, order_id) == order["history"]
        assert order["state"] == order["history"][-1]
