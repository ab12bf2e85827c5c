"""A package's public names, each imported from its module on first use (PEP 562).

A package re-exporting names from its modules would import every one of them with itself;
through `exports` it imports none until a name is asked for, so a program loads only the
modules it uses (`komtet-works quote` prices without the order's model, the ports or the
stores).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping


def exports(
    package: str, homes: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of `package`, whose public names are `public`
    and which gives each name of `homes` from the module of `package` it maps it to
    (``"memory"`` for ``package.memory``)."""
    namespace = vars(sys.modules[package])
    listed = tuple(public)

    def __getattr__(name: str) -> object:  # noqa: N807 - the module hook's own name
        """`name`, imported from its module the first time it is asked for."""
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*namespace, *listed})

    return __getattr__, __dir__
