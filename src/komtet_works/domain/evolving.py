"""Copies of frozen attrs values with some fields changed, as `attrs.evolve` makes them,
at the cost of one constructor call.

`attrs.evolve` looks the class's fields up and walks them on every call: on the works
of an order, four times in a whole life, that was a fifth of the life's cost.  `evolver`
does the walk once, when the domain is imported, and generates the function (as attrs
generates ``__init__``) from the class's own fields: a field added to the class needs no
change here, and its validators and converters still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import attrs

__all__ = ["evolver"]

_T = TypeVar("_T")

#: The default of each parameter of a generated function: "keep the value's own".
_KEEP: Final = object()


def evolver(cls: type[_T]) -> Callable[..., _T]:
    """A function ``(value, **changes)`` giving a copy of `value`, an instance of the attrs
    class `cls`, with the fields named in `changes` changed: ``attrs.evolve(value,
    **changes)``."""
    fields = [f for f in attrs.fields(cast("type[attrs.AttrsInstance]", cls)) if f.init]
    parameters = ", ".join(f"{f.alias}=_KEEP" for f in fields)
    # positionally where the constructor allows it (cheaper than by keyword), in its order
    positional = [f for f in fields if not f.kw_only]
    arguments = ", ".join(
        [f"value.{f.name} if {f.alias} is _KEEP else {f.alias}" for f in positional]
        + [
            f"{f.alias}=value.{f.name} if {f.alias} is _KEEP else {f.alias}"
            for f in fields
            if f.kw_only
        ]
    )
    source = f"def evolve(value, *, {parameters}):\n    return cls({arguments})\n"
    namespace: dict[str, Any] = {"cls": cls, "_KEEP": _KEEP}
    # the source is built only from the field names of a class of the domain, never data
    exec(compile(source, f"<evolver of {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    evolve: Callable[..., _T] = namespace["evolve"]
    return evolve
