"""The contract test kit: one pytest suite per port, for the library's adapters and a host's.

A host that writes its own adapter subclasses the port's contract in a test module and
provides the adapter under test as the fixture the contract names::

    from komtet_works.testing import BillingContract

    class TestMyBilling(BillingContract):
        @pytest.fixture
        def billing(self):
            return MyBilling(...)          # fresh for each test

Some contracts also ask for hooks (how to change a backed-up target, a notifier that
cannot send); each contract's docstring names them.  The pytest plugin runs a suite with
no test module at all: ``pytest --komtet-contract=my_host.adapters:make_billing``.

The kit needs pytest and hypothesis: ``pip install 'komtet-works[testing]'``.
"""

try:
    import hypothesis  # noqa: F401 - the kit's property tests and strategies need it
    import pytest  # noqa: F401 - the contracts are pytest classes
except ImportError as missing:  # pragma: no cover - tests/unit/test_testing_kit.py runs it
    raise ImportError(
        f"komtet_works.testing needs {missing.name}: pip install 'komtet-works[testing]'",
        name=missing.name,
    ) from None

from komtet_works.testing.backups import BackupsContract
from komtet_works.testing.billing import BillingContract
from komtet_works.testing.calendar import BusinessCalendarContract
from komtet_works.testing.clock import ClockContract
from komtet_works.testing.customers import CustomerDirectoryContract
from komtet_works.testing.notifications import NotifierContract
from komtet_works.testing.work_orders import (
    ODD_TEXTS,
    DurableStore,
    DurableStoreContract,
    OutboxContract,
    WorkOrdersContract,
)

__all__ = [
    "ODD_TEXTS",
    "BackupsContract",
    "BillingContract",
    "BusinessCalendarContract",
    "ClockContract",
    "CustomerDirectoryContract",
    "DurableStore",
    "DurableStoreContract",
    "NotifierContract",
    "OutboxContract",
    "WorkOrdersContract",
]
