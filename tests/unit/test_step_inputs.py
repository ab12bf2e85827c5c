"""Facts a step takes from outside the domain are checked before anything is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from komtet_works import (
    Actor,
    Backup,
    BackupNotConfirmed,
    InvalidInput,
    InvalidRefund,
    Money,
    NaiveDatetime,
    Payment,
    Refund,
    State,
    Tariff,
)
from komtet_works.testing.orders import STAFF, in_state
from komtet_works.use_cases import REFUNDS

CUSTOMER = Actor.customer("cust-1")


@pytest.mark.rule("L13")
def test_a_payment_or_a_backup_without_a_time_zone_cannot_be_built() -> None:
    """Payment.received_at and Backup.taken_at are instants: naive ones are `invalid_input`."""
    naive = datetime(2026, 3, 2, 12, 0)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(NaiveDatetime) as refused:
        Payment("p-1", Money.of("1000.00"), naive)
    assert ("invalid_input", "received_at") == (refused.value.code, refused.value.field)
    with pytest.raises(NaiveDatetime) as refused:
        Backup("bk-1", naive, verified=True)
    assert ("invalid_input", "taken_at") == (refused.value.code, refused.value.field)


@pytest.mark.rule("L5", "D-BACKUP-FAILURE")
@pytest.mark.parametrize(
    "taken", [timedelta(minutes=-30), timedelta(minutes=20)], ids=["before-schedule", "future"]
)
def test_a_backup_not_taken_at_the_start_of_these_works_is_refused(taken: timedelta) -> None:
    """A backup older than the order's last step, or dated after the start, does not count."""
    scheduled = in_state(State.SCHEDULED)
    last = scheduled.last_step_at
    start = last.add(minutes=10)
    backup = Backup("bk-old", last + taken, verified=True)
    with pytest.raises(BackupNotConfirmed) as refused:
        scheduled.start(by=STAFF, at=start, backup=backup)
    assert "backup_not_confirmed" == refused.value.code
    assert State.SCHEDULED is scheduled.state


@pytest.mark.rule("L11")
def test_a_note_that_is_not_text_is_invalid_input() -> None:
    """The why of a step is text of bounded length, like every other free text."""
    estimated = in_state(State.ESTIMATED)
    at = estimated.last_step_at.add(minutes=5)
    with pytest.raises(InvalidInput) as refused:
        estimated.decline(by=CUSTOMER, at=at, note=42)  # type: ignore[arg-type]
    assert "note" == refused.value.field
    with pytest.raises(InvalidInput):
        estimated.decline(by=CUSTOMER, at=at, note="x" * 100_001)


@pytest.mark.rule("I4", "M3")
def test_a_refund_in_another_currency_is_an_invalid_refund() -> None:
    """A refund must be in the payment's currency: `invalid_refund`, not a currency error."""
    failing = in_state(State.REFUNDING)
    [payment] = failing.ledger.payments
    refund = Refund(payment.id, Money(payment.amount.amount, "EUR"), "rf-1")
    with pytest.raises(InvalidRefund):
        failing.settle_refunds(
            by=REFUNDS, at=failing.last_step_at.add(hours=1), refunds=(refund,), restored=True
        )
    assert State.REFUNDING is failing.state


@pytest.mark.rule("P1", "M1")
@pytest.mark.parametrize(
    "fields",
    [{"hourly_rate": 1000.0}, {"hours_rounding": "up"}],
    ids=["float-rate", "rounding-as-text"],
)
def test_a_tariff_of_the_wrong_types_is_invalid_input(fields: dict[str, object]) -> None:
    """A float rate or a rounding mode given as text is refused, not failed on later."""
    with pytest.raises(InvalidInput):
        Tariff(**fields)  # type: ignore[arg-type]
