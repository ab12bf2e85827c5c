"""Events, and the facts of messages, to JSON-able dicts and back, exactly.

Decimals are strings (``"2.00"`` stays ``"2.00"``), instants are ISO 8601 with their UTC
offset (the instant and its local wall-clock time survive; a zone *name* such as
Europe/Moscow becomes its offset at that instant), enums are their values, nested attrs
values are dicts and tuples are lists.  Every event dict carries its class name under
``"type"``.  Decoding is driven by the event classes' own annotations, so a new event
type needs no codec change; a record that does not fit its type is refused with
`InvalidInput` naming the field.

A host that keeps orders in a store of its own writes each event with `dumps_event` (or
`encode_event`, for a JSON document it builds itself) and the order's current state with
`dumps_order`; it loads the order with `loads_order` and audits it with
``WorkOrder.replay(loads_event(text) for text in stored)``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring
from typing import Any, Final

import attrs
import pendulum
from pendulum.tz import fixed_timezone

from komtet_works.domain import events as event_module
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.events import Event
from komtet_works.domain.work_order import WorkOrder
from komtet_works.ports.notifications import FACTS, Facts, MessageKind

__all__ = [
    "JSON",
    "ORDER_FORMAT",
    "decode_event",
    "dumps_event",
    "dumps_event_at",
    "dumps_order",
    "encode_event",
    "loads_event",
    "loads_order",
    "storable",
]

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


# --- encoding: one function per event class, generated once, writes its JSON text ---------
#
# `dumps_event` writes the text ``json.dumps(values, ensure_ascii=False, separators=(",",
# ":"))`` would write for the event's values, without building those values first: each
# event class gets a function whose body is one f-string with an expression per leaf
# value, generated from the class's annotations once, as attrs generates ``__init__``.
# Encoding was most of the work of saving an order: walking an event generically (attrs
# introspection per value, a dict, then json.dumps) took 17 us, this takes 2 us.  The
# source is built only from the attrs classes of `komtet_works.domain.events` (their
# identifiers and annotations), never from data.

#: A value to its JSON text.
_Writer = Callable[[Any], str]

#: Strings as JSON text: the very function ``json.dumps(ensure_ascii=False)`` uses.
_json_string: Final[_Writer] = encode_basestring


_date: Final = datetime.date  # stdlib's: pendulum's own date() and time() cost more
_time: Final = datetime.time


def _isoformat(instant: datetime) -> str:
    """``instant.isoformat()``, without asking pendulum's UTC zone its offset (zero).

    The domain keeps instants in UTC or at fixed offsets (`require_aware`), and the
    offset lookup is half the cost of formatting a pendulum instant.
    """
    if instant.tzinfo is pendulum.UTC:
        return f"{_date(instant).isoformat()}T{_time(instant).isoformat()}+00:00"
    return instant.isoformat()


def _enum_texts(kind: type[enum.Enum], *, optional: bool) -> Mapping[object, str]:
    """The JSON text of each member of `kind`, and of None if `optional`."""
    texts: dict[object, str] = {m: json.dumps(m.value, ensure_ascii=False) for m in kind}
    if optional:
        texts[None] = "null"
    return texts


def _is(annotation: object, kind: type) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, kind)


class _Source:
    """The f-string writing one class's JSON, and the objects its expressions name.

    In an event's function the locals ``at`` and ``iso`` hold the event's instant and its
    ISO 8601 text: other instants that are the same object (a quote's ``issued_at``, a
    payment's ``received_at``) reuse the text instead of formatting it again.
    """

    def __init__(self, *, at: str | None = None) -> None:
        self.at = at
        self.names: dict[str, object] = {"_string": encode_basestring, "_iso": _isoformat}

    def _name(self, value: object) -> str:
        name = f"_{len(self.names)}"
        self.names[name] = value
        return name

    def fragment(self, annotation: object, expression: str) -> str:
        """F-string text writing the JSON of `expression`, a value of type `annotation`."""
        if isinstance(annotation, type) and attrs.has(annotation):  # a JSON object, inline
            return self.record(annotation, attrs.fields(annotation), expression)
        if annotation is int:  # digits and a sign: nothing to escape
            return f"{{{expression}}}"
        if annotation is Decimal:  # digits, sign, point, exponent: nothing to escape
            return f'"{{{expression}!s}}"'
        if annotation is pendulum.DateTime:  # ISO 8601: nothing to escape
            return f'"{{{self._instant(expression)}}}"'
        return f"{{{self._text(annotation, expression)}}}"

    def record(self, cls: type, fields: Sequence[attrs.Attribute[Any]], expression: str) -> str:
        """F-string text writing `fields` of `expression`, an instance of `cls`, as an object."""
        hints = typing.get_type_hints(cls)
        members = (
            f"{_json_string(f.name)}:{self.fragment(hints[f.name], f'{expression}.{f.name}')}"
            for f in fields
        )
        return "{{" + ",".join(members) + "}}"

    def _instant(self, expression: str) -> str:
        if self.at is None:
            return f"_iso({expression})"
        if expression == self.at:
            return "iso"
        return f"iso if {expression} is at else _iso({expression})"

    def _text(self, annotation: object, expression: str) -> str:
        """A Python expression for the JSON text of `expression`."""
        if annotation is str:
            return f"_string({expression})"
        if annotation is bool:
            return f"{self._name({True: 'true', False: 'false'})}[{expression}]"
        if _is(annotation, enum.Enum):
            kind = typing.cast("type[enum.Enum]", annotation)
            return f"{self._name(_enum_texts(kind, optional=False))}[{expression}]"
        arguments = typing.get_args(annotation)
        if typing.get_origin(annotation) in {types.UnionType, typing.Union}:
            (inner,) = (a for a in arguments if a is not type(None))
            if _is(inner, enum.Enum):
                table = _enum_texts(typing.cast("type[enum.Enum]", inner), optional=True)
                return f"{self._name(table)}[{expression}]"
            write = _writer(inner)
            nullable = self._name(lambda value: "null" if value is None else write(value))
            return f"{nullable}({expression})"
        if typing.get_origin(annotation) is tuple:
            item = _writer(arguments[0])
            array = self._name(lambda values: "[" + ",".join(map(item, values)) + "]")
            return f"{array}({expression})"
        raise TypeError(f"no encoder for {annotation!r}")  # pragma: no cover - new field type


def _compiled(source: str, names: Mapping[str, object]) -> Callable[..., Any]:
    """The function ``encode`` that `source` defines, its globals `names`."""
    namespace = dict(names)
    code = compile(source, f"<{__name__} generated>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated from our own event classes
    return typing.cast("Callable[..., Any]", namespace["encode"])


def _writer(annotation: object) -> _Writer:
    """A function writing the JSON text of a value of type `annotation`."""
    source = _Source()
    body = source.fragment(annotation, "value")
    return _compiled(f"def encode(value):\n    return f'{body}'\n", source.names)


def _event_encoder(name: str, cls: type[Event]) -> Callable[[Event], tuple[str, str]]:
    """A function giving an event's instant in ISO 8601 and the event's JSON text."""
    source = _Source(at="event.at")
    body = source.fragment(cls, "event")  # "{{" opens the object
    body = f"{{{{{_json_string('type')}:{_json_string(name)},{body[2:]}"
    return _compiled(
        f"def encode(event):\n    at = event.at\n    iso = _iso(at)\n    return iso, f'{body}'\n",
        source.names,
    )


_EVENT_ENCODERS: Final = {cls: _event_encoder(name, cls) for name, cls in EVENT_TYPES.items()}


def _encoder_of(event: Event) -> Callable[[Event], tuple[str, str]]:
    encoder = _EVENT_ENCODERS.get(type(event))
    if encoder is None:  # pragma: no cover - every event class is in events.py
        raise TypeError(f"cannot encode {type(event).__name__}")
    return encoder


def encode_event(event: Event) -> JSON:
    """`event` as plain JSON values, with its class name under ``"type"``."""
    encoded: JSON = json.loads(_encoder_of(event)(event)[1])
    return encoded


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
    offset = parsed.utcoffset()
    if offset is None:
        raise _refuse(field, "an instant with a UTC offset", value)
    # What pendulum.instance gives (UTC, or its cached fixed offset), built directly: a
    # fifth of the cost, and a stored state holds an instant per claim and customer change.
    zone = pendulum.UTC if not offset else fixed_timezone(int(offset.total_seconds()))
    return pendulum.DateTime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=zone,
    )


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


def _attrs_decoder(cls: type[Any], kept: Sequence[attrs.Attribute[Any]] | None = None) -> _Decoder:
    """A decoder of records of `cls` holding its fields, or only those `kept`."""
    hints = typing.get_type_hints(cls)
    kept = attrs.fields(cls) if kept is None else kept
    fields = {f.name: _decoder_for(hints[f.name]) for f in kept}
    # A field added later with a default may be absent from a record written before it.
    required = {f.name for f in kept if f.default is attrs.NOTHING}

    def decode(value: object, field: str) -> object:
        if not isinstance(value, dict):
            raise _refuse(field, f"a {cls.__name__} record", value)
        if not required <= value.keys() <= fields.keys():
            raise InvalidInput(
                f"{field} has fields {sorted(value)}, a {cls.__name__} has {sorted(fields)}",
                field=field,
            )
        prefix = f"{field}." if field else ""
        try:
            return cls(**{name: fields[name](value[name], prefix + name) for name in value})
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
    return dumps_event_at(event)[1]


def dumps_event_at(event: Event) -> tuple[str, str]:
    """`event.at` in ISO 8601 (as in the text) and `dumps_event(event)`, formatting it once."""
    encoder = _EVENT_ENCODERS.get(type(event))  # as `_encoder_of`, one call less
    if encoder is None:  # pragma: no cover - every event class is in events.py
        raise TypeError(f"cannot encode {type(event).__name__}")
    at, text = encoder(event)
    return at, text if text.isascii() else storable(text, "event")


def loads_event(text: str | bytes) -> Event:
    """The event `dumps_event` wrote as `text`; a record that does not fit: `InvalidInput`."""
    return decode_event(json.loads(text))


def storable(text: str, field: str) -> str:
    """`text` if a UTF-8 database can keep it exactly; otherwise `InvalidInput`."""
    if text.isascii():  # the common case, checked without encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{field} contains text that is not valid Unicode (a lone surrogate)", field=field
        ) from None
    return text


# --- an order's state, as the stores keep it: the read model ------------------------------
#
# A store keeps each order's current state beside its history and loads the order from it,
# so loading costs the same however long the history is (`WorkOrder.replay` of the
# history is the audit).  The state is every field of `WorkOrder` but `new_events`,
# written and read from the annotations as events are: a field added to `Works` or
# `Ledger` needs no change here.  `ORDER_FORMAT` names the shape of those classes; a
# state written in another shape (before a field was added, say) is not decoded with
# defaults that might not be what its history says: the store replays the history.

#: The fields of an order's stored state: all but the events not yet saved.
_STATE_FIELDS: Final = tuple(f for f in attrs.fields(WorkOrder) if f.name != "new_events")


def _shape(annotation: object, seen: set[object]) -> str:
    """The names and types of the fields under `annotation`, recursively: its format."""
    if isinstance(annotation, type) and attrs.has(annotation):
        if annotation in seen:
            return annotation.__qualname__
        seen.add(annotation)
        hints = typing.get_type_hints(annotation)
        fields = _STATE_FIELDS if annotation is WorkOrder else attrs.fields(annotation)
        inner = ",".join(f"{f.name}:{_shape(hints[f.name], seen)}" for f in fields)
        return f"{annotation.__qualname__}({inner})"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation.__qualname__
    arguments = typing.get_args(annotation)
    if arguments:
        origin = typing.get_origin(annotation)
        return f"{origin!r}[{','.join(_shape(a, seen) for a in arguments)}]"
    return repr(annotation)


#: The format of the stored states this code writes: a digest of their classes' shape.
ORDER_FORMAT: Final = hashlib.sha256(_shape(WorkOrder, set()).encode()).hexdigest()[:16]


def _state_writer() -> Callable[[WorkOrder], str]:
    source = _Source()
    body = source.record(WorkOrder, _STATE_FIELDS, "value")
    return _compiled(f"def encode(value):\n    return f'{body}'\n", source.names)


_STATE_WRITER: Final = _state_writer()
_STATE_DECODER: Final = _attrs_decoder(WorkOrder, _STATE_FIELDS)


def dumps_order(order: WorkOrder) -> str:
    """`order`'s state (every field but `new_events`) as compact JSON text, exactly."""
    return storable(_STATE_WRITER(order), "order")


def loads_order(text: str | bytes) -> WorkOrder:
    """The order whose state `dumps_order` wrote as `text` (with no `new_events`); a
    record that does not fit: `InvalidInput`."""
    order = _STATE_DECODER(json.loads(text), "")
    if not isinstance(order, WorkOrder):  # pragma: no cover - the decoder builds orders
        raise TypeError("the state decoder built something else")
    return order


# --- the facts of a message, as the outbox stores them ---------------------------------------

_FACTS_WRITERS: Final = {cls: _writer(cls) for cls in FACTS.values()}
_FACTS_DECODERS: Final = {kind: _attrs_decoder(cls) for kind, cls in FACTS.items()}


def dumps_facts(facts: Facts) -> str:
    """`facts` as compact JSON text, exactly (as events are: decimals as strings, instants
    in ISO 8601 with their offset); text that is not valid Unicode is refused."""
    return storable(_FACTS_WRITERS[type(facts)](facts), "message facts")


def loads_facts(kind: MessageKind, text: str | bytes) -> Facts:
    """The facts of a message of `kind` from `dumps_facts` text; refused if they do not fit."""
    try:
        record = json.loads(text)
    except ValueError:
        raise InvalidInput(
            f"the facts of a {kind.value} message are not JSON", field="facts"
        ) from None
    facts = _FACTS_DECODERS[kind](record, "")
    if not isinstance(facts, FACTS[kind]):  # pragma: no cover - the decoders build facts
        raise TypeError("a facts decoder built something else")
    return facts
