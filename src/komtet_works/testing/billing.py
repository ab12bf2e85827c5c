"""`BillingContract`: what every `Billing` adapter promises the use cases.

The use cases ask for an invoice, a void or a refund again after any failure, with the same
idempotency key: the billing system must answer a repeated request with what it answered
the first time, and must refuse a key reused for a different entry rather than pay out.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from komtet_works.domain.errors import BillingFailed
from komtet_works.domain.money import Money
from komtet_works.ports import Billing

__all__ = ["BillingContract"]

#: Keys as the use cases build them (order id, purpose, payment id), with odd ids in them.
ODD_KEYS: Final = (
    "wo-1:invoice:2",
    "wo-'1\":refund:pay-1",
    "заказ-7:refund:платёж 1",
    "wo 🛠️:invoice:1",
    "wo-%s:refund:{0}",
    "x" * 300,
)

_TOTAL: Final = Money.of("1400.00")
_fresh = itertools.count()


#: What the port is asked for: an invoice (request_payment) or a refund.
KINDS: Final = ("invoice", "refund")


def _ask(billing: Billing, kind: str, owner: str, amount: Money, key: str) -> str:
    """An invoice for order `owner`, or a refund of payment `owner`, under `key`."""
    if kind == "invoice":
        return billing.request_payment(order_id=owner, amount=amount, idempotency_key=key)
    return billing.refund(payment_id=owner, amount=amount, idempotency_key=key)


def _unique(name: str) -> str:
    """A key no earlier example of this process used (examples share the adapter)."""
    return f"{name}:{next(_fresh)}"


class BillingContract:
    """The `Billing` port's promises: one invoice and one refund per idempotency key."""

    @pytest.fixture
    def billing(self) -> Billing:
        """The adapter under test; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `billing` fixture")

    def test_an_invoice_has_a_reference(self, billing: Billing) -> None:
        """request_payment returns the billing system's reference: a non-empty text."""
        reference = billing.request_payment(
            order_id="wo-1", amount=_TOTAL, idempotency_key="wo-1:invoice:2"
        )
        assert str is type(reference)
        assert "" != reference

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("key", ODD_KEYS, ids=lambda k: repr(k[:16]))
    def test_an_entry_asked_twice_with_one_key_is_one_entry(
        self, billing: Billing, kind: str, key: str
    ) -> None:
        """The same invoice or refund under the same key returns the first reference."""
        first = _ask(billing, kind, "wo-1", _TOTAL, key)
        assert first == _ask(billing, kind, "wo-1", _TOTAL, key)

    def test_different_keys_are_different_entries(self, billing: Billing) -> None:
        """Two keys give two invoices, and two refunds, with four distinct references."""
        references = [
            _ask(billing, kind, f"{kind}-owner", _TOTAL, f"wo-1:{kind}:{number}")
            for kind in KINDS
            for number in (1, 2)
        ]
        assert 4 == len(set(references))

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize(
        ("owner", "amount"),
        [("wo-1", Money.of("1400.01")), ("wo-2", _TOTAL), ("wo-1", Money.of("1400.00", "EUR"))],
        ids=["another amount", "another order or payment", "another currency"],
    )
    def test_a_key_reused_for_another_entry_is_refused(
        self, billing: Billing, kind: str, owner: str, amount: Money
    ) -> None:
        """A key already used pays or bills nothing more: BillingFailed, the first entry kept."""
        first = _ask(billing, kind, "wo-1", _TOTAL, "k")
        with pytest.raises(BillingFailed):
            _ask(billing, kind, owner, amount, "k")
        assert first == _ask(billing, kind, "wo-1", _TOTAL, "k")

    # One adapter serves every example (unique keys keep them apart), and each subclass is
    # an executor of this one method: both are the design of a contract class.
    @settings(
        max_examples=25,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        asks=st.lists(
            st.tuples(st.sampled_from(["k-1", "k-2", "k-3"]), st.sampled_from(KINDS)), min_size=1
        ),
        amount=st.decimals(min_value="0.01", max_value="99999.99", places=2),
    )
    def test_every_key_keeps_the_reference_it_was_first_given(
        self, billing: Billing, asks: list[tuple[str, str]], amount: Decimal
    ) -> None:
        """Any interleaving of invoices and refunds: one reference per key, none shared."""
        money = Money.of(amount)
        keys = {name: _unique(name) for name in ("k-1", "k-2", "k-3")}
        given_out: dict[tuple[str, str], str] = {}
        for name, kind in asks:
            reference = _ask(billing, kind, "wo-1", money, f"{keys[name]}:{kind}")
            assert given_out.setdefault((name, kind), reference) == reference
        assert len(given_out) == len(set(given_out.values()))

    def test_a_payment_is_refunded_in_parts_under_distinct_keys(self, billing: Billing) -> None:
        """The unused hours at completion, then the rest (rule H2): two refunds of one
        payment, two receipts; each asked again gives its own back."""
        payment, keys = _unique("payment"), (_unique("part"), _unique("rest"))
        parts = (Money.of("400.00"), Money.of("1000.00"))
        receipts = [
            billing.refund(payment_id=payment, amount=amount, idempotency_key=key)
            for key, amount in zip(keys, parts, strict=True)
        ]
        assert receipts[0] != receipts[1]
        assert receipts == [
            billing.refund(payment_id=payment, amount=amount, idempotency_key=key)
            for key, amount in zip(keys, parts, strict=True)
        ]

    def test_an_invoice_voided_twice_with_one_key_is_voided_once(self, billing: Billing) -> None:
        """Voiding an invoice, then again with the same key, is one void and no error."""
        reference = billing.request_payment(
            order_id="wo-v", amount=_TOTAL, idempotency_key=_unique("invoice")
        )
        key = _unique("void")
        for _ in range(2):
            billing.void_invoice(invoice=reference, idempotency_key=key)
        other = billing.request_payment(
            order_id="wo-v", amount=_TOTAL, idempotency_key=_unique("invoice")
        )
        with pytest.raises(BillingFailed):  # the key still names the first invoice
            billing.void_invoice(invoice=other, idempotency_key=key)
