"""The outbox relay: sends what the outbox holds through the notifier, at least once."""

from __future__ import annotations

import logging

from komtet_works.ports import Message, Notifier, Outbox

log = logging.getLogger(__name__)


def relay(outbox: Outbox, notifier: Notifier, *, batch: int = 100) -> int:
    """Send every pending message and mark it sent; return how many were sent.

    A message is marked sent only after the notifier took it, so a crash in between
    sends it again on the next run, with the same id for the receiver to drop.  A
    `NotificationFailed` stops the run with that message still pending.
    """
    sent = 0
    while messages := outbox.pending(batch):
        for message in messages:
            deliver(outbox, notifier, message)
            sent += 1
    return sent


def deliver(outbox: Outbox, notifier: Notifier, message: Message) -> None:
    """Send one message of the outbox, then mark it sent (never the other way round)."""
    outbox.mark_sent(message.id, notifier.send(message))
    log.debug("message %s (%s) sent", message.id, message.kind.value)
