"""Adapters: implementations of the ports, named <Technology><Port>."""

from komtet_works.adapters.clock import SystemClock
from komtet_works.adapters.memory import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)

__all__ = [
    "InMemoryBackups",
    "InMemoryBilling",
    "InMemoryBusinessCalendar",
    "InMemoryCustomerDirectory",
    "InMemoryNotifier",
    "InMemoryWorkOrders",
    "ManualClock",
    "SystemClock",
]
