"""The composition root: the one place that wires adapters into the `WorkOrderService`.

Three ways to build it, by where the work orders are kept:

- `in_memory`: everything in memory, for tests, examples and the scenario runner;
- `on_sqlite`: orders with their outbox, customers and the billing ledger in one SQLite file;
- `on_postgres`: the same in PostgreSQL, on a DSN, the host's psycopg connection or a
  `psycopg_pool` pool, in a schema of the host's choosing;

and `on_database`, which picks between the last two by the text (a ``postgresql://``
DSN or a SQLite path), as the command line does.  Nothing is migrated unless asked
(``migrate=True``, or `Wiring.migrate` later).  Every adapter a host brings is a keyword
argument; those not given are the library's defaults (the system clock, the provider's
office hours, the seed tariff and policy).  Nothing is opened at import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, Self, TypedDict, Unpack

import attrs

from komtet_works.adapters import memory
from komtet_works.adapters.clock import SystemClock
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import DatabaseUnavailable
from komtet_works.domain.policy import Policy
from komtet_works.domain.pricing import Tariff
from komtet_works.ports import (
    Backups,
    Billing,
    BusinessCalendar,
    Clock,
    CustomerDirectory,
    Notifier,
    WorkOrders,
)
from komtet_works.use_cases import WorkOrderService

if TYPE_CHECKING:
    from komtet_works.adapters.postgres import Source

__all__ = [
    "POSTGRES_SCHEMES",
    "DriverMissing",
    "HostAdapters",
    "Wiring",
    "in_memory",
    "on_database",
    "on_postgres",
    "on_sqlite",
]

#: The prefixes of a PostgreSQL DSN; any other database text is a SQLite path.
POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


class DriverMissing(DatabaseUnavailable):
    """A PostgreSQL database without the driver installed."""

    code = "driver_missing"


class Directory(CustomerDirectory, Protocol):
    """A customer directory that customers can be added to."""

    def put(self, customer: Customer) -> None: ...


class _Closable(Protocol):
    def close(self) -> None: ...


@attrs.define
class Wiring:
    """The service and the adapters it was wired with; `close` closes what was opened here."""

    service: WorkOrderService
    orders: WorkOrders
    customers: Directory
    billing: Billing
    backups: Backups
    notifier: Notifier
    clock: Clock
    _opened: tuple[_Closable, ...] = ()
    _migrate: Callable[[], None] | None = None

    def migrate(self) -> None:
        """Bring the database's schema up to date (nothing to do in memory)."""
        if self._migrate is not None:
            self._migrate()

    def close(self) -> None:
        for adapter in reversed(self._opened):
            adapter.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class HostAdapters(TypedDict, total=False):
    """The adapters and settings a host may bring, whatever the store: keyword arguments."""

    backups: Backups
    notifier: Notifier
    clock: Clock
    calendar: BusinessCalendar
    tariff: Tariff
    policy: Policy
    #: how many staff work the queue in parallel (D-CAPACITY; default 1)
    capacity: int


@attrs.frozen(kw_only=True)
class _Host:
    """The adapters and settings a host brings, whatever the store."""

    backups: Backups | None = None
    notifier: Notifier | None = None
    clock: Clock | None = None
    calendar: BusinessCalendar | None = None
    tariff: Tariff | None = None
    policy: Policy | None = None
    capacity: int = 1

    def wire(
        self,
        orders: WorkOrders,
        customers: Directory,
        billing: Billing,
        *,
        opened: tuple[_Closable, ...] = (),
        migrate: Callable[[], None] | None = None,
    ) -> Wiring:
        clock = self.clock if self.clock is not None else SystemClock()
        policy = self.policy if self.policy is not None else Policy()
        backups = self.backups if self.backups is not None else memory.InMemoryBackups()
        notifier = self.notifier if self.notifier is not None else memory.InMemoryNotifier(clock)
        calendar = (
            self.calendar
            if self.calendar is not None
            else memory.InMemoryBusinessCalendar(timezone=policy.provider_timezone)
        )
        service = WorkOrderService(
            orders=orders,
            customers=customers,
            billing=billing,
            backups=backups,
            notifier=notifier,
            clock=clock,
            calendar=calendar,
            tariff=self.tariff,
            policy=policy,
            capacity=self.capacity,
        )
        return Wiring(
            service, orders, customers, billing, backups, notifier, clock, opened, migrate
        )


def in_memory(
    *,
    customers: Iterable[Customer] = (),
    directory: Directory | None = None,
    orders: WorkOrders | None = None,
    billing: Billing | None = None,
    **host: Unpack[HostAdapters],
) -> Wiring:
    """The service on the in-memory adapters, the directory holding `customers`.

    `directory`, `orders` and `billing` replace the in-memory ones; the `HostAdapters`
    (``backups``, ``notifier``, ``clock``, ``calendar``, ``tariff``, ``policy``) replace
    the defaults, as in every function here.
    """
    return _Host(**host).wire(
        orders if orders is not None else memory.InMemoryWorkOrders(),
        directory if directory is not None else memory.InMemoryCustomerDirectory(customers),
        billing if billing is not None else memory.InMemoryBilling(),
    )


def on_sqlite(path: str | Path, *, migrate: bool = False, **host: Unpack[HostAdapters]) -> Wiring:
    """The service on the SQLite file `path`: orders, customers and the ledger in it."""
    from komtet_works.adapters.sqlite import (  # noqa: PLC0415 - opened only when asked
        SqliteBilling,
        SqliteCustomerDirectory,
        SqliteWorkOrders,
    )

    orders = SqliteWorkOrders(path, migrate=migrate)
    customers = SqliteCustomerDirectory(path)
    billing = SqliteBilling(path)
    return _Host(**host).wire(
        orders, customers, billing, opened=(orders, customers, billing), migrate=orders.migrate
    )


def on_postgres(
    source: Source,
    *,
    schema: str | None = None,
    migrate: bool = False,
    **host: Unpack[HostAdapters],
) -> Wiring:
    """The service on PostgreSQL: a DSN, the host's psycopg connection or `psycopg_pool` pool.

    The tables are in `schema` (created by the migration), or where the connection's
    ``search_path`` says.  A connection or pool the host gave stays open on `Wiring.close`.
    """
    try:
        from komtet_works.adapters.postgres import (  # noqa: PLC0415 - the extra 'postgres'
            PostgresBilling,
            PostgresCustomerDirectory,
            PostgresWorkOrders,
        )
    except ImportError:
        raise DriverMissing(
            "PostgreSQL needs the driver: pip install 'komtet-works[postgres]'"
        ) from None
    orders = PostgresWorkOrders(source, schema=schema, migrate=migrate)
    try:
        customers = PostgresCustomerDirectory(source, schema=schema)
        billing = PostgresBilling(source, schema=schema)
    except BaseException:
        orders.close()
        raise
    return _Host(**host).wire(
        orders, customers, billing, opened=(orders, customers, billing), migrate=orders.migrate
    )


#: A libpq connection string of ``keyword=value`` pairs (``host=db dbname=works``).
_LIBPQ_KEYWORDS: Final = re.compile(r"\s*[a-z_]+\s*=")


def on_database(
    database: str | Path,
    *,
    schema: str | None = None,
    migrate: bool = False,
    **host: Unpack[HostAdapters],
) -> Wiring:
    """`on_postgres` for a PostgreSQL DSN (``postgresql://...``, or libpq's
    ``host=... dbname=...`` keywords), `on_sqlite` for anything else (a path)."""
    if isinstance(database, str) and (
        database.startswith(POSTGRES_SCHEMES) or _LIBPQ_KEYWORDS.match(database)
    ):
        return on_postgres(database, schema=schema, migrate=migrate, **host)
    return on_sqlite(database, migrate=migrate, **host)
