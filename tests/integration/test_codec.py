"""The event codec: events to JSON and back, exactly."""

from __future__ import annotations

import json
from typing import Any

import pendulum
import pytest
from hypothesis import given

from komtet_works.adapters.codec import (
    decode_event,
    dumps_event,
    dumps_event_at,
    encode_event,
    loads_event,
)
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.lifecycle import State
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimRemedy
from komtet_works.testing.orders import in_state, requested
from komtet_works.testing.strategies import histories


@pytest.mark.rule("L11")
@given(histories())
def test_every_event_survives_json_text_equal(order: WorkOrder) -> None:
    """Any event, through JSON text and back, is equal to the original."""
    for event in order.new_events:
        assert event == loads_event(dumps_event(event))


@pytest.mark.rule("L11")
@given(histories())
def test_the_json_of_a_decoded_event_is_the_json_it_came_from(order: WorkOrder) -> None:
    """Encoding is exact: decimals keep their digits, instants their offset, texts every char."""
    for event in order.new_events:
        text = dumps_event(event)
        assert text == dumps_event(loads_event(text))


@pytest.mark.rule("L11")
@given(histories())
def test_instants_keep_their_wall_clock_time_and_offset(order: WorkOrder) -> None:
    """A decoded instant shows the same local time and UTC offset as the original."""
    for event in order.new_events:
        decoded = loads_event(dumps_event(event))
        assert event.at.isoformat() == decoded.at.isoformat()
        assert event.at.utcoffset() == decoded.at.utcoffset()


@pytest.mark.rule("L11")
@given(histories())
def test_replaying_decoded_events_rebuilds_the_order(order: WorkOrder) -> None:
    """Rule L11 across the codec: the replay of the decoded events is the order."""
    assert order == WorkOrder.replay(loads_event(dumps_event(e)) for e in order.new_events)


@given(histories())
def test_the_text_is_what_json_dumps_writes_for_its_values(order: WorkOrder) -> None:
    """The encoder writes JSON text itself: exactly json.dumps's compact form of its values."""
    for event in order.new_events:
        text = dumps_event(event)
        assert json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) == text


@given(histories())
def test_the_instant_given_with_the_text_is_the_events_own(order: WorkOrder) -> None:
    """dumps_event_at gives the event's instant in ISO 8601 and the text dumps_event gives."""
    for event in order.new_events:
        assert (event.at.isoformat(), dumps_event(event)) == dumps_event_at(event)


def test_an_instant_at_a_fixed_offset_keeps_its_offset_and_microseconds() -> None:
    """Not only UTC instants: +03:00 and a quarter of a millisecond are written as they are."""
    at = pendulum.datetime(2026, 3, 2, 10, 0, 0, 250, tz=pendulum.FixedTimezone(3 * 3600))
    event = requested(at=at).new_events[0]
    text = "2026-03-02T10:00:00.000250+03:00"
    assert (text, text) == (dumps_event_at(event)[0], encode_event(event)["at"])


def test_money_and_hours_are_decimal_strings_and_enums_their_values() -> None:
    """The JSON shape: "2000.00" not 2000.0, "estimated" not State.ESTIMATED."""
    estimate = encode_event(in_state(State.ESTIMATED).new_events[1])
    assert "EstimateIssued" == estimate["type"]
    assert "estimated" == estimate["after"]
    assert {"amount": "2500.00", "currency": "RUB"} == estimate["quote"]["total"]
    assert "2.5" == estimate["quote"]["hours"]
    assert "2026-03-02T08:00:00+00:00" == estimate["at"]  # a DST zone is kept in UTC


def _estimate_record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        json.dumps(encode_event(in_state(State.PAID).new_events[1]))
    )
    return record


def _without(key: str) -> dict[str, Any]:
    record = _estimate_record()
    del record[key]
    return record


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    record = _estimate_record()
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(_with(("type",), "OrderExploded"), id="unknown type"),
        pytest.param(_without("type"), id="no type"),
        pytest.param(_without("quote"), id="missing field"),
        pytest.param(_with(("extra",), 1), id="unknown field"),
        pytest.param(_with(("quote", "hours"), 2.5), id="float hours"),
        pytest.param(_with(("quote", "total", "amount"), "NaN"), id="NaN money"),
        pytest.param(_with(("quote", "total", "amount"), "12.345"), id="sub-kopeck money"),
        pytest.param(_with(("at",), "2026-03-02T10:00:00"), id="naive instant"),
        pytest.param(_with(("at",), "yesterday"), id="not an instant"),
        pytest.param(_with(("after",), "exploded"), id="unknown state"),
        pytest.param(_with(("actor",), "staff-1"), id="actor not a record"),
        pytest.param(_with(("order_id",), 7), id="number for text"),
        pytest.param(_with(("note",), None), id="null for text"),
    ],
)
def test_a_record_that_does_not_fit_its_event_is_refused(record: dict[str, Any]) -> None:
    """Damaged or foreign records raise InvalidInput instead of building a wrong event."""
    with pytest.raises(InvalidInput):
        decode_event(record)


def test_text_that_is_not_unicode_is_refused_before_storage() -> None:
    """A lone surrogate cannot be stored as UTF-8: refused with InvalidInput."""
    order = in_state(State.REQUESTED)
    broken = WorkOrder.replay([order.new_events[0]]).supplement(
        by=order.new_events[0].actor, at=order.new_events[0].at, text="half \ud800 a pair"
    )
    with pytest.raises(InvalidInput):
        dumps_event(broken.new_events[-1])


@pytest.mark.rule("C5", "L11")
def test_a_claim_stored_before_remedies_existed_reads_back_as_a_refund_claim() -> None:
    """A ClaimFiled record without `remedy` (written before C5) decodes with the refund remedy."""
    order = in_state(State.CLAIMED)
    record = encode_event(order.new_events[-1])
    del record["remedy"]
    decoded = decode_event(record)
    assert ClaimRemedy.REFUND is decoded.remedy  # type: ignore[attr-defined]
    assert State.CLAIMED is WorkOrder.replay((*order.new_events[:-1], decoded)).state


@pytest.mark.rule("L11")
def test_a_record_missing_a_field_without_a_default_is_refused() -> None:
    """Only fields added later with a default may be absent: a missing `text` is refused."""
    record = encode_event(in_state(State.CLAIMED).new_events[-1])
    del record["text"]
    with pytest.raises(InvalidInput):
        decode_event(record)
