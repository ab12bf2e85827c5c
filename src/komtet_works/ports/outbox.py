from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from komtet_works.ports.notifications import Message


@attrs.frozen
class Delivery:
    """A message claimed for sending, and how many tries of it failed before."""

    message: Message
    attempts: int


@attrs.frozen
class Claimed:
    """What one `Outbox.claim` took: the messages to send now, and the ids of stored
    messages that could not be read (a row from before typed facts, or garbage), parked
    as dead by the claim itself."""

    deliveries: Sequence[Delivery] = ()
    unreadable: Sequence[str] = ()


@attrs.frozen
class DeadLetter:
    """A message parked as dead: tried `attempts` times (0: it could not be read), the last
    `error` (its class and words, no personal data), and when it was parked."""

    id: str
    order_id: str
    kind: str
    attempts: int
    error: str
    dead_at: datetime


class Outbox(Protocol):
    """Messages saved with an order (`WorkOrders.save(..., messages=...)`) until sent.

    A message is committed with the change that caused it, so a change that rolled back
    sends nothing, and a message of a committed change is never lost.  `relay` sends
    them; a crash between sending and `mark_sent` sends again with the same `id`.  A
    message that fails is tried again later (`failed`), and after the relay policy's
    attempts it is parked as dead until an operator `requeue`s it.
    """

    def pending(self, limit: int = 100) -> Sequence[Message]:
        """Up to `limit` messages neither sent nor parked as dead, oldest first."""
        ...

    def mark_sent(self, message_id: str, sent_at: datetime) -> None:
        """Record that `message_id` went out at `sent_at`; unknown or sent ids: no change."""
        ...

    def claim(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta,
        order_id: str | None = None,
    ) -> Claimed:
        """Take up to `limit` messages due at `now` for sending, oldest first, each kept
        from other claims until `now + lease` (or its `mark_sent` / `failed`).

        Due: neither sent nor dead, never tried or its retry time come, no other claim's
        lease on it, and no earlier message of its order still waiting (an order's
        messages go out in order; a dead one no longer holds the later ones back).
        Claims running at once never take the same message.  With `order_id`, only that
        order's.
        """
        ...

    def failed(
        self, message_id: str, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed try of `message_id` at `at`: one more attempt, the `error`, and
        the next try at `retry_at`, or parked as dead when `retry_at` is None; ids sent,
        dead or unknown: no change."""
        ...

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        """Up to `limit` messages parked as dead, oldest first."""
        ...

    def requeue(self, message_ids: Sequence[str]) -> Sequence[str]:
        """Put dead messages back in the queue, due at once with no attempts; return the ids
        requeued (those not dead are left as they are)."""
        ...
