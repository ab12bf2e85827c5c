"""Which contract suite checks which port: what the pytest plugin runs for a factory."""

from __future__ import annotations

import typing
from collections.abc import Callable

import attrs

from komtet_works.ports import (
    Backups,
    Billing,
    BusinessCalendar,
    Clock,
    CustomerDirectory,
    Notifier,
    WorkOrders,
)
from komtet_works.testing.backups import BackupsContract
from komtet_works.testing.billing import BillingContract
from komtet_works.testing.calendar import BusinessCalendarContract
from komtet_works.testing.clock import ClockContract
from komtet_works.testing.customers import CustomerDirectoryContract
from komtet_works.testing.notifications import NotifierContract
from komtet_works.testing.work_orders import OutboxContract, WorkOrdersContract

__all__ = ["SUITES", "Suite", "suite_for"]


@attrs.frozen
class Suite:
    """The contracts of one port, the fixture they take the adapter from, and their hooks.

    `hooks` must be given beside the factory; `optional_hooks` have a default.
    """

    port: type
    contracts: tuple[type, ...]
    fixture: str
    hooks: tuple[str, ...] = ()
    optional_hooks: tuple[str, ...] = ()

    @property
    def members(self) -> frozenset[str]:
        """The names the port asks an adapter for, its base ports' included."""
        return frozenset(
            name
            for port in self.port.__mro__
            if port.__module__.startswith("komtet_works.ports")
            for name in vars(port)
            if not name.startswith("_")
        )


SUITES: typing.Final = (
    Suite(WorkOrders, (WorkOrdersContract, OutboxContract), "orders"),
    Suite(Billing, (BillingContract,), "billing"),
    Suite(Backups, (BackupsContract,), "backups", ("target", "write", "read", "unbackable")),
    Suite(Notifier, (NotifierContract,), "notifier", ("unreachable",)),
    Suite(CustomerDirectory, (CustomerDirectoryContract,), "customers", (), ("add",)),
    Suite(BusinessCalendar, (BusinessCalendarContract,), "calendar"),
    Suite(Clock, (ClockContract,), "clock"),
)


def suite_for(factory: Callable[[], object]) -> Suite:
    """The suite of the port `factory`'s return annotation names, or whose members it has.

    Raises `LookupError` when the annotation is missing or matches no port.
    """
    returned = typing.get_type_hints(factory).get("return")
    if returned is None:
        raise LookupError("annotate the factory's return type with the port, e.g. `-> Billing`")
    for suite in SUITES:
        if returned is suite.port:
            return suite
    shaped = [s for s in SUITES if isinstance(returned, type) and s.members <= set(dir(returned))]
    if not shaped:
        raise LookupError(f"{returned!r} implements none of the ports in komtet_works.ports")
    return max(shaped, key=lambda suite: len(suite.members))
