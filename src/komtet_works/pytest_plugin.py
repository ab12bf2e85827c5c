"""The contract kit's pytest plugin: ``pytest --komtet-contract=MODULE:FACTORY``.

FACTORY is a callable of MODULE that takes no arguments and returns a fresh adapter,
annotated with the port it implements (``def make_billing() -> Billing``).  The plugin
runs that port's contract suite (`komtet_works.testing`) against what it returns, and
closes the adapter after each test when it has a ``close()``.  Contracts that need hooks
(`BackupsContract`'s ``target``, ``write``, ``read``, ``unbackable``; `NotifierContract`'s
``unreachable``; `CustomerDirectoryContract`'s optional ``add``) find them as functions of
the same MODULE, taking the hook's arguments without ``self``.

The option may be given several times.  Registered through the ``pytest11`` entry point,
the plugin imports the kit only when the option is used.
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_collection_modifyitems"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("komtet-works").addoption(
        "--komtet-contract",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="run the contract suite of the port FACTORY's adapter implements",
    )


@pytest.hookimpl(tryfirst=True)  # before -k, -m and deselection look at the items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for spec in config.getoption("komtet_contract"):
        path, module = _contract_module(spec)
        collector = _ContractModule.from_parent(session, path=path, name=spec)
        collector.synthetic = module
        items.extend(session.genitems(collector))


class _ContractModule(pytest.Module):
    """A test module made of the generated suite, not read from a file."""

    synthetic: types.ModuleType

    def _getobj(self) -> types.ModuleType:
        return self.synthetic


def _contract_module(spec: str) -> tuple[Path, types.ModuleType]:
    """MODULE's file, and a module holding one test class: the port's contracts over
    FACTORY's adapter."""
    from komtet_works.testing.suites import suite_for  # noqa: PLC0415 - only when asked for

    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise pytest.UsageError(f"--komtet-contract={spec}: expected MODULE:FACTORY")
    try:
        host = importlib.import_module(module_name)
        factory: Callable[[], object] = getattr(host, factory_name)
        suite = suite_for(factory)
    except (ImportError, AttributeError, LookupError) as error:
        raise pytest.UsageError(f"--komtet-contract={spec}: {error}") from None
    missing = [hook for hook in suite.hooks if not callable(getattr(host, hook, None))]
    if missing:
        raise pytest.UsageError(
            f"--komtet-contract={spec}: {suite.port.__name__} needs the hooks "
            f"{', '.join(missing)} as functions of {module_name}"
        )

    def adapter(_: object) -> Iterator[object]:
        made = factory()
        yield made
        close = getattr(made, "close", None)
        if callable(close):
            close()

    namespace: dict[str, Any] = {suite.fixture: pytest.fixture(name=suite.fixture)(adapter)}
    for hook in (*suite.hooks, *suite.optional_hooks):
        function = getattr(host, hook, None)
        if callable(function):
            namespace[hook] = _method(function)
    test_class = type(f"Test{suite.port.__name__}Contract", suite.contracts, namespace)
    synthetic = types.ModuleType(f"komtet_contract_{module_name}_{factory_name}")
    setattr(synthetic, test_class.__name__, test_class)
    return Path(inspect.getfile(host)), synthetic


def _method(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` as a method of the test class: called without the class's ``self``."""

    def method(_: object, *arguments: object) -> Any:  # noqa: ANN401 - whatever the hook gives
        return function(*arguments)

    return method
