"""Events to JSON-able dicts and back, exactly.

Decimals are strings (``"2.00"`` stays ``"2.00"``), instants are ISO 8601 with their UTC
offset (the instant and its local wall-clock time survive; a zone *name* such as
Europe/Moscow becomes its offset at that instant), enums are their values, nested attrs
values are dicts and tuples are lists.  Every event dict carries its class name under
``"type"``.  Decoding is driven by the event classes' own annotations, so a new event
type needs no codec change; a record that does not fit its type is refused with
`InvalidInput` naming the field.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs
import pendulum

from komtet_works.domain import events as event_module
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.events import Event

#: Plain JSON values: what `encode_event` returns and `decode_event` accepts.
JSON = dict[str, Any]


def _event_types() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    for name in dir(event_module):
        value = getattr(event_module, name)
        if isinstance(value, type) and issubclass(value, Event) and value is not Event:
            found[name] = value
    return found


EVENT_TYPES: Final = _event_types()


def _encode(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if attrs.has(type(value)):
        fields = attrs.fields(typing.cast("type[attrs.AttrsInstance]", type(value)))
        return {f.name: _encode(getattr(value, f.name)) for f in fields}
    raise TypeError(f"cannot encode {type(value).__name__}")  # pragma: no cover - guard


def encode_event(event: Event) -> JSON:
    """`event` as plain JSON values, with its class name under ``"type"``."""
    encoded = _encode(event)
    if not isinstance(encoded, dict):  # pragma: no cover - events are attrs classes
        raise TypeError("an event encodes to a dict")
    return {"type": type(event).__name__, **encoded}


# --- decoding: one function per annotated type, built once per class -------------------

_Decoder = Callable[[object, str], object]


def _refuse(field: str, expected: str, value: object) -> InvalidInput:
    return InvalidInput(f"{field} must be {expected}, not {value!r:.80}", field=field)


def _decode_str(value: object, field: str) -> object:
    if not isinstance(value, str):
        raise _refuse(field, "text", value)
    return value


def _decode_bool(value: object, field: str) -> object:
    if not isinstance(value, bool):
        raise _refuse(field, "true or false", value)
    return value


def _decode_int(value: object, field: str) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(field, "an integer", value)
    return value


def _decode_decimal(value: object, field: str) -> object:
    if not isinstance(value, str):
        raise _refuse(field, "a decimal string", value)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _refuse(field, "a decimal string", value) from None
    if not number.is_finite():
        raise _refuse(field, "a finite decimal", value)
    return number


def _decode_instant(value: object, field: str) -> object:
    if not isinstance(value, str):
        raise _refuse(field, "an ISO 8601 instant", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(field, "an ISO 8601 instant", value) from None
    if parsed.utcoffset() is None:
        raise _refuse(field, "an instant with a UTC offset", value)
    return pendulum.instance(parsed)


def _enum_decoder(kind: type[enum.Enum]) -> _Decoder:
    def decode(value: object, field: str) -> object:
        try:
            return kind(value)
        except ValueError:
            raise _refuse(field, f"a {kind.__name__} value", value) from None

    return decode


def _optional_decoder(inner: _Decoder) -> _Decoder:
    def decode(value: object, field: str) -> object:
        return None if value is None else inner(value, field)

    return decode


def _tuple_decoder(inner: _Decoder) -> _Decoder:
    def decode(value: object, field: str) -> object:
        if not isinstance(value, list):
            raise _refuse(field, "a list", value)
        return tuple(inner(item, f"{field}[{index}]") for index, item in enumerate(value))

    return decode


def _attrs_decoder(cls: type[Any]) -> _Decoder:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _decoder_for(hints[f.name]) for f in attrs.fields(cls)}

    def decode(value: object, field: str) -> object:
        if not isinstance(value, dict):
            raise _refuse(field, f"a {cls.__name__} record", value)
        if value.keys() != fields.keys():
            raise InvalidInput(
                f"{field} has fields {sorted(value)}, a {cls.__name__} has {sorted(fields)}",
                field=field,
            )
        prefix = f"{field}." if field else ""
        try:
            return cls(**{name: fields[name](value[name], prefix + name) for name in fields})
        except InvalidInput:
            raise
        except (TypeError, ValueError) as error:  # pragma: no cover - validators of attrs
            raise InvalidInput(f"{field or cls.__name__}: {error}", field=field) from None

    return decode


_SIMPLE: Final[Mapping[object, _Decoder]] = {
    str: _decode_str,
    bool: _decode_bool,
    int: _decode_int,
    Decimal: _decode_decimal,
    pendulum.DateTime: _decode_instant,
}


def _decoder_for(annotation: object) -> _Decoder:
    simple = _SIMPLE.get(annotation)
    if simple is not None:
        return simple
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in {types.UnionType, typing.Union}:
        (inner,) = (a for a in arguments if a is not type(None))
        return _optional_decoder(_decoder_for(inner))
    if origin is tuple:
        return _tuple_decoder(_decoder_for(arguments[0]))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_decoder(annotation)
    if isinstance(annotation, type) and attrs.has(annotation):
        return _attrs_decoder(annotation)
    raise TypeError(f"no decoder for {annotation!r}")  # pragma: no cover - new field type


_EVENT_DECODERS: Final = {name: _attrs_decoder(cls) for name, cls in EVENT_TYPES.items()}


def decode_event(record: Mapping[str, object]) -> Event:
    """The event `record` (from `encode_event`) describes; refused if it does not fit."""
    kind = record.get("type")
    decoder = _EVENT_DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise InvalidInput(f"unknown event type {kind!r:.80}", field="type")
    fields = {key: value for key, value in record.items() if key != "type"}
    event = decoder(fields, "")
    if not isinstance(event, Event):  # pragma: no cover - the decoders build events
        raise TypeError("an event decoder built something else")
    return event


# --- JSON text, as the adapters store it ---------------------------------------------------


def dumps_event(event: Event) -> str:
    """The event as compact JSON text; text that is not valid Unicode is refused.

    Python strings may hold lone surrogates, which no UTF-8 store can keep.
    """
    text = json.dumps(encode_event(event), ensure_ascii=False, separators=(",", ":"))
    return storable(text, "event")


def loads_event(text: str | bytes) -> Event:
    return decode_event(json.loads(text))


def storable(text: str, field: str) -> str:
    """`text` if a UTF-8 database can keep it exactly; otherwise `InvalidInput`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{field} contains text that is not valid Unicode (a lone surrogate)", field=field
        ) from None
    return text
