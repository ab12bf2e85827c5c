"""Adapters: implementations of the ports, named <Technology><Port>.

The PostgreSQL adapters (`komtet_works.adapters.postgres`) need the optional extra
``postgres`` (psycopg), so they are imported from their module, not from here.
"""

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
from komtet_works.adapters.sqlite import SqliteBilling, SqliteCustomerDirectory, SqliteWorkOrders

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
