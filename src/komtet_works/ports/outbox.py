from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from komtet_works.ports.notifications import Message


class Outbox(Protocol):
    """Messages saved with an order (`WorkOrders.save(..., messages=...)`) until sent.

    A message is committed with the change that caused it, so a change that rolled back
    sends nothing, and a message of a committed change is never lost.  `relay` sends
    them; a crash between sending and `mark_sent` sends again with the same `id`.
    """

    def pending(self, limit: int = 100) -> Sequence[Message]:
        """Up to `limit` messages not yet marked sent, oldest first."""
        ...

    def mark_sent(self, message_id: str, sent_at: datetime) -> None:
        """Record that `message_id` went out at `sent_at`; unknown or sent ids: no change."""
        ...
