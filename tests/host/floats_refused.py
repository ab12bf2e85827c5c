"""A host passing floats for hours and amounts: mypy must refuse both calls.

Excluded from `make typecheck` (pyproject's [tool.mypy] exclude); tests/host/test_host_types.py
runs mypy on it and expects exactly these two errors.
"""

from __future__ import annotations

from komtet_works import WorkOrderService


def estimate_in_floats(service: WorkOrderService) -> None:
    service.estimate("wo-1", staff_id="staff-1", hours=2.5)
    service.record_payment("wo-1", payment_id="pay-1", amount=2500.0)
