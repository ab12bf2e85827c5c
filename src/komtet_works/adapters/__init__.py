"""Adapters: implementations of the ports, named <Technology><Port>.

The PostgreSQL adapters (`komtet_works.adapters.postgres`) need the optional extra
``postgres`` (psycopg), so they are imported from their module, not from here.

Each name below is imported from its module on first use (PEP 562): importing one
adapter, or `komtet_works.adapters.clock` for the quote, does not load the mail, the
templates, the holidays calendar and sqlite3 along with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from komtet_works._lazy import exports

if TYPE_CHECKING:
    from komtet_works.adapters.clock import SystemClock
    from komtet_works.adapters.filesystem import FilesystemBackups
    from komtet_works.adapters.mail import MaildirNotifier, SmtpNotifier
    from komtet_works.adapters.memory import (
        InMemoryBackups,
        InMemoryBilling,
        InMemoryBusinessCalendar,
        InMemoryCustomerDirectory,
        InMemoryNotifier,
        InMemoryWorkOrders,
        ManualClock,
    )
    from komtet_works.adapters.russian_calendar import RussianBusinessCalendar
    from komtet_works.adapters.sqlite import (
        SqliteBilling,
        SqliteCustomerDirectory,
        SqliteWorkOrders,
    )

#: Each public name and the module that defines it.
_HOMES: Final = {
    "FilesystemBackups": "filesystem",
    "InMemoryBackups": "memory",
    "InMemoryBilling": "memory",
    "InMemoryBusinessCalendar": "memory",
    "InMemoryCustomerDirectory": "memory",
    "InMemoryNotifier": "memory",
    "InMemoryWorkOrders": "memory",
    "MaildirNotifier": "mail",
    "ManualClock": "memory",
    "RussianBusinessCalendar": "russian_calendar",
    "SmtpNotifier": "mail",
    "SqliteBilling": "sqlite",
    "SqliteCustomerDirectory": "sqlite",
    "SqliteWorkOrders": "sqlite",
    "SystemClock": "clock",
}

__all__ = [
    "FilesystemBackups",
    "InMemoryBackups",
    "InMemoryBilling",
    "InMemoryBusinessCalendar",
    "InMemoryCustomerDirectory",
    "InMemoryNotifier",
    "InMemoryWorkOrders",
    "MaildirNotifier",
    "ManualClock",
    "RussianBusinessCalendar",
    "SmtpNotifier",
    "SqliteBilling",
    "SqliteCustomerDirectory",
    "SqliteWorkOrders",
    "SystemClock",
]


__getattr__, __dir__ = exports(__name__, _HOMES, __all__)
