from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

import attrs


class MessageKind(enum.Enum):
    QUOTE_ISSUED = "quote_issued"
    PAYMENT_RECEIVED = "payment_received"
    COMPLETION_DATE = "completion_date"
    WORKS_STARTING = "works_starting"
    WORKS_COMPLETED = "works_completed"
    REFUNDED = "refunded"
    CLAIM_DECIDED = "claim_decided"
    WITHDRAWN = "withdrawn"


@attrs.frozen
class Message:
    """A message to a customer.  `id` is stable, so a receiver can drop duplicates."""

    id: str
    order_id: str
    customer_id: str
    kind: MessageKind
    body: str = attrs.field(repr=False)


class Notifier(Protocol):
    """Sends messages to customers on the provider's behalf."""

    def send(self, message: Message) -> datetime:
        """Send `message`; return the instant it was sent (timezone-aware), by the provider's
        clock.

        Raises `NotificationFailed` when it could not be sent.
        """
        ...
