from __future__ import annotations

from typing import Protocol

from komtet_works.domain.customers import Customer


class CustomerDirectory(Protocol):
    """The hosting's customers, their sites and servers, and active subscriptions."""

    def find(self, customer_id: str) -> Customer | None:
        """The customer as of now, or None when `customer_id` is not a hosting customer."""
        ...
