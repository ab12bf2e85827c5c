"""A host's adapters in the standard library's types: accepted by mypy and at run time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from host_adapters import MOSCOW, HostBilling, HostClock, HostNotifier, host_service, paid_order
from mypy import api

from komtet_works import State

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def test_mypy_strict_accepts_the_host_and_refuses_floats_for_hours_and_amounts() -> None:
    """The host module checks clean; the float hours and the float amount are type errors."""
    report, _, status = api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            "/dev/null",
            "--no-error-summary",
            "--show-absolute-path",
            str(HERE / "host_adapters.py"),
            str(HERE / "floats_refused.py"),
        ]
    )
    errors = [line.split(": error: ") for line in report.splitlines() if ": error: " in line]
    assert [
        (f"{HERE / 'floats_refused.py'}:13", "hours"),
        (f"{HERE / 'floats_refused.py'}:14", "amount"),
    ] == [(where, message.split('"')[1]) for where, message in errors]
    assert all(message.endswith('"str | int | Decimal"  [arg-type]') for _, message in errors)
    assert 1 == status


def test_the_service_runs_on_a_zoneinfo_clock_a_stdlib_notifier_and_the_hosts_billing() -> None:
    """The host's instants are recorded exactly; its billing invoices once; its notifier sends."""
    now = datetime(2026, 3, 2, 10, 30, tzinfo=MOSCOW)
    notifier, billing = HostNotifier(), HostBilling()
    service = host_service(HostClock(now), notifier, billing)
    order = paid_order(service)
    assert State.PAID is order.state
    assert [now, now, now] == [event.at for event in service.orders.history(order.id)]
    assert [("invoice-1", "wo-1", order.ledger.paid)] == list(billing.entries.values())
    assert ["quote_issued", "payment_received"] == [m.kind.value for m in notifier.queued]
