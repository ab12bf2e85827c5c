"""Ports: what komtet-works needs from the host, as `typing.Protocol`s.

Adapters implement them; nothing here depends on an adapter.  Each name is imported from
its module on first use (`komtet_works._lazy`): the clock's port alone loads no other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from komtet_works._lazy import exports

if TYPE_CHECKING:
    from komtet_works.ports.backups import Backups
    from komtet_works.ports.billing import Billing, Invoice, RefundReceipt
    from komtet_works.ports.calendar import BusinessCalendar
    from komtet_works.ports.clock import Clock
    from komtet_works.ports.customers import CustomerDirectory
    from komtet_works.ports.notifications import (
        FACTS,
        ClaimDecidedFacts,
        CompletionDateFacts,
        CompletionDateRevisedFacts,
        Facts,
        Message,
        MessageKind,
        Notifier,
        PaymentReceivedFacts,
        QuoteIssuedFacts,
        RefundedFacts,
        RestoreWithheldFacts,
        SupplementaryQuoteFacts,
        WithdrawnFacts,
        WorksCompletedFacts,
        WorksStartingFacts,
    )
    from komtet_works.ports.outbox import Claimed, DeadLetter, Delivery, Outbox
    from komtet_works.ports.work_orders import WorkOrders

#: Each public name and the module that defines it.
_HOMES: Final = {
    "Backups": "backups",
    "Billing": "billing",
    "Invoice": "billing",
    "RefundReceipt": "billing",
    "BusinessCalendar": "calendar",
    "Clock": "clock",
    "CustomerDirectory": "customers",
    "FACTS": "notifications",
    "ClaimDecidedFacts": "notifications",
    "CompletionDateFacts": "notifications",
    "CompletionDateRevisedFacts": "notifications",
    "Facts": "notifications",
    "Message": "notifications",
    "MessageKind": "notifications",
    "Notifier": "notifications",
    "PaymentReceivedFacts": "notifications",
    "QuoteIssuedFacts": "notifications",
    "RefundedFacts": "notifications",
    "RestoreWithheldFacts": "notifications",
    "SupplementaryQuoteFacts": "notifications",
    "WithdrawnFacts": "notifications",
    "WorksCompletedFacts": "notifications",
    "WorksStartingFacts": "notifications",
    "Claimed": "outbox",
    "DeadLetter": "outbox",
    "Delivery": "outbox",
    "Outbox": "outbox",
    "WorkOrders": "work_orders",
}

__all__ = [
    "FACTS",
    "Backups",
    "Billing",
    "BusinessCalendar",
    "ClaimDecidedFacts",
    "Claimed",
    "Clock",
    "CompletionDateFacts",
    "CompletionDateRevisedFacts",
    "CustomerDirectory",
    "DeadLetter",
    "Delivery",
    "Facts",
    "Invoice",
    "Message",
    "MessageKind",
    "Notifier",
    "Outbox",
    "PaymentReceivedFacts",
    "QuoteIssuedFacts",
    "RefundReceipt",
    "RefundedFacts",
    "RestoreWithheldFacts",
    "SupplementaryQuoteFacts",
    "WithdrawnFacts",
    "WorkOrders",
    "WorksCompletedFacts",
    "WorksStartingFacts",
]

__getattr__, __dir__ = exports(__name__, _HOMES, __all__)
