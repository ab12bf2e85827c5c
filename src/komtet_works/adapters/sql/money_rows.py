"""Rows of the payments intake and the billing outbox, the same in both SQL databases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from komtet_works.domain.commands import COMMAND_TYPES, BillingCommand
from komtet_works.domain.instants import require_aware
from komtet_works.domain.intake import ConflictingReport, ReportedPayment
from komtet_works.domain.ledger import Payment
from komtet_works.domain.money import Money

#: Each command class by the name its rows carry.
KINDS: Final[dict[type[BillingCommand], str]] = {cls: kind for kind, cls in COMMAND_TYPES.items()}


def command_row(command: BillingCommand) -> tuple[str, str, str, str]:
    """(id, order_id, kind, payload): the payload holds every field, money as text."""
    fields: dict[str, Any] = {}
    for name, value in attrs.asdict(command, recurse=False).items():
        if isinstance(value, Money):
            fields[name] = str(value.amount)
            fields["currency"] = value.currency
        else:
            fields[name] = value
    return command.id, command.order_id, KINDS[type(command)], json.dumps(fields)


def command_from_row(kind: object, payload: object) -> BillingCommand:
    fields = json.loads(str(payload))
    currency = fields.pop("currency", None)
    if currency is not None:
        fields["amount"] = Money.of(fields["amount"], currency)
    return COMMAND_TYPES[str(kind)](**fields)


def payment_facts(payment: Payment) -> tuple[str, str, str, str]:
    """(id, amount, currency, received_at) of a payment, as its columns keep them."""
    money = payment.amount
    return payment.id, str(money.amount), money.currency, payment.received_at.isoformat()


def _payment(payment_id: object, amount: object, currency: object, at: object) -> Payment:
    received = require_aware(datetime.fromisoformat(str(at)), field="received_at")
    return Payment(str(payment_id), Money.of(str(amount), str(currency)), received)


def report_from_row(row: Sequence[object]) -> ReportedPayment:
    """A reported payment from its (id, order, amount, currency, at, refused, refund) row."""
    payment_id, order_id, amount, currency, at, refused, refund = row
    return ReportedPayment(
        _payment(payment_id, amount, currency, at),
        str(order_id),
        None if refused is None else str(refused),
        None if refund is None else str(refund),
    )


def conflict_from_row(row: Sequence[object]) -> ConflictingReport:
    payment_id, order_id, amount, currency, at, code = row
    return ConflictingReport(_payment(payment_id, amount, currency, at), str(order_id), str(code))
