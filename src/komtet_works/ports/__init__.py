"""Ports: what komtet-works needs from the host, as `typing.Protocol`s.

Adapters implement them; nothing here depends on an adapter.
"""

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
