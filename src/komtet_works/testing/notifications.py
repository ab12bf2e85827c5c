"""`NotifierContract`: what every `Notifier` adapter promises the outbox relay.

The relay sends at least once: after a crash between sending and `mark_sent` it sends the
same message (the same `id`) again, so a send of a message already sent must succeed too.
Customer text is data: bodies and ids with any characters go out as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Generic, TypeVar

import pendulum
import pytest

from komtet_works.domain.errors import NotificationFailed
from komtet_works.domain.policy import ClaimWindowMeasure
from komtet_works.domain.pricing import Tariff, parse_hours, price
from komtet_works.domain.works import ClaimOutcome, RestoreWithheldReason, WithdrawalReason
from komtet_works.ports import (
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
    WithdrawnFacts,
    WorksCompletedFacts,
    WorksStartingFacts,
)
from komtet_works.testing.work_orders import ODD_TEXTS

__all__ = ["NotifierContract"]

_Adapter = TypeVar("_Adapter", bound=Notifier)

#: Message ids and customer ids with characters a header, a path or a query could choke on.
ODD_IDS: Final = (
    "wo-1:2:quote_issued",
    "../../etc/passwd",
    "wo 1\r\nBcc: everyone@example.org",
    "заказ-7:1:refunded",
    "wo-\x00-nul",
    "x" * 300,
)


_AT: Final = pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow")
#: What a message to test with reports: the works done by a date.
COMPLETION: Final = CompletionDateFacts(_AT.add(days=7))
_QUOTE: Final = price(
    Tariff(), parse_hours("2.5"), maintained_site=True, issued_at=_AT, valid_for=timedelta(days=7)
)
#: Facts of every kind of message, as the use cases report them.
SAMPLES: Final[dict[MessageKind, Facts]] = {
    facts.kind: facts
    for facts in (
        QuoteIssuedFacts(_QUOTE),
        PaymentReceivedFacts(_QUOTE.total, _AT.add(hours=1)),
        COMPLETION,
        CompletionDateRevisedFacts(COMPLETION.due.add(days=1), COMPLETION.due, "a larger site"),
        WorksStartingFacts(_AT.add(days=1), COMPLETION.due),
        WorksCompletedFacts(_AT.add(days=2), Decimal(72), ClaimWindowMeasure.ELAPSED),
        ClaimDecidedFacts(ClaimOutcome.REFUND, "the page still fails"),
        RefundedFacts(_QUOTE.total, restored=True),
        WithdrawnFacts(WithdrawalReason.HOSTING_FAULT, handed_to_support=True),
        RestoreWithheldFacts(_QUOTE.total, RestoreWithheldReason.RESTORE_CONFLICT),
    )
}


def message(
    message_id: str = '["message","wo-1",4,"completion_date"]',
    *,
    customer_id: str = "cust-1",
    facts: Facts = COMPLETION,
) -> Message:
    return Message(id=message_id, order_id="wo-1", customer_id=customer_id, facts=facts)


class NotifierContract(Generic[_Adapter]):
    """The `Notifier` port's promises: every message goes out, at an aware instant.

    A subclass provides the ``notifier`` fixture, and `unreachable`: the adapter in a
    state where it cannot send (its server down, its directory unwritable).
    """

    @pytest.fixture
    def notifier(self) -> _Adapter:
        """The adapter under test; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `notifier` fixture")

    def unreachable(self, notifier: _Adapter) -> Notifier:
        """An adapter like `notifier` that cannot send; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide `unreachable`")

    @pytest.mark.parametrize("kind", list(MessageKind), ids=lambda kind: kind.value)
    def test_a_message_of_any_kind_is_sent_at_an_aware_instant(
        self, notifier: _Adapter, kind: MessageKind
    ) -> None:
        """send returns a timezone-aware datetime: when the provider sent the message."""
        sent_at = notifier.send(message(f"wo-1:2:{kind.value}", facts=SAMPLES[kind]))
        assert isinstance(sent_at, datetime)
        assert sent_at.utcoffset() is not None

    def test_a_message_sent_again_is_sent_again_without_error(self, notifier: _Adapter) -> None:
        """The relay's retry after a crash: the same id again goes out (or is dropped) cleanly."""
        first = notifier.send(message())
        again = notifier.send(message())
        assert first <= again

    @pytest.mark.parametrize("message_id", ODD_IDS, ids=repr)
    def test_odd_ids_are_sent(self, notifier: _Adapter, message_id: str) -> None:
        """Ids with control characters, paths or 300 characters do not stop a message."""
        sent_at = notifier.send(message(message_id, customer_id=message_id))
        assert sent_at.utcoffset() is not None

    @pytest.mark.parametrize("text", ODD_TEXTS, ids=lambda text: repr(text[:16]))
    def test_odd_texts_in_the_facts_are_sent(self, notifier: _Adapter, text: str) -> None:
        """Any text the domain accepts, as a decision's reason (customer text is data)."""
        sent_at = notifier.send(message(facts=ClaimDecidedFacts(ClaimOutcome.REJECT, text)))
        assert sent_at.utcoffset() is not None

    def test_a_notifier_that_cannot_send_raises_notification_failed(
        self, notifier: _Adapter
    ) -> None:
        """A failed send is NotificationFailed, so the relay keeps the message pending."""
        with pytest.raises(NotificationFailed):
            self.unreachable(notifier).send(message())
