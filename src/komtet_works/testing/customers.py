"""`CustomerDirectoryContract`: what every `CustomerDirectory` promises the use cases.

Eligibility (rules E1-E3) and the Site Maintenance discount (P4) are decided on what the
directory answers, so a customer must come back exactly as the hosting knows them, and an
id that is no customer must be None, never an error or someone else.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import pytest

from komtet_works.domain.customers import Customer
from komtet_works.ports import CustomerDirectory

__all__ = ["CustomerDirectoryContract"]

_Adapter = TypeVar("_Adapter", bound=CustomerDirectory)

ALICE: Final = Customer(
    "alice",
    sites=frozenset({"alice.ru", "shop.alice.ru"}),
    servers=frozenset({"vps-alice"}),
    maintained_sites=frozenset({"shop.alice.ru"}),
)
#: Ids that are nobody's: SQL, wildcards, case and space variants of a real id, NUL.
NOBODY: Final = ("mallory", "ALICE", " alice", "alice ", "%", "_lice", "' OR '1'='1", "a\x00")


class CustomerDirectoryContract(Generic[_Adapter]):
    """The `CustomerDirectory` port's promises: the customer as known, or None.

    A subclass provides the ``customers`` fixture (an empty directory) and, when the
    adapter has no ``put(customer)``, the `add` hook that makes a customer known to it.
    """

    @pytest.fixture
    def customers(self) -> _Adapter:
        """The adapter under test, knowing nobody; a subclass provides it."""
        raise NotImplementedError("subclass the contract and provide the `customers` fixture")

    def add(self, customers: _Adapter, customer: Customer) -> None:
        """Make `customer` known to the directory, replacing what was known of them."""
        put = getattr(customers, "put", None)
        if put is None:
            raise NotImplementedError("the adapter has no `put`: provide the `add` hook")
        put(customer)

    def test_a_known_customer_is_found_exactly(self, customers: _Adapter) -> None:
        """find returns the customer with every site, server and maintained site."""
        self.add(customers, ALICE)
        assert ALICE == customers.find("alice")

    @pytest.mark.parametrize("customer_id", NOBODY, ids=repr)
    def test_an_id_that_is_no_customer_is_none(self, customers: _Adapter, customer_id: str) -> None:
        """Ids nobody has, however near a real one or odd, are None."""
        self.add(customers, ALICE)
        assert customers.find(customer_id) is None

    def test_a_customer_without_targets_is_found(self, customers: _Adapter) -> None:
        """A customer with no site or server yet is still a customer (rule E1 refuses later)."""
        bare = Customer("bob")
        self.add(customers, bare)
        assert bare == customers.find("bob")

    def test_what_changed_is_what_is_found(self, customers: _Adapter) -> None:
        """A subscription ended and a site moved: find answers as of now (rule E3)."""
        self.add(customers, ALICE)
        later = Customer("alice", sites=frozenset({"alice.ru"}), servers=frozenset({"vps-2"}))
        self.add(customers, later)
        assert later == customers.find("alice")

    def test_customers_do_not_share_targets(self, customers: _Adapter) -> None:
        """Two customers come back each with their own targets only."""
        carol = Customer("carol", sites=frozenset({"carol.ru"}), maintained_sites=frozenset())
        self.add(customers, ALICE)
        self.add(customers, carol)
        assert (ALICE, carol) == (customers.find("alice"), customers.find("carol"))

    def test_a_site_and_a_server_of_one_name_are_two_targets(self, customers: _Adapter) -> None:
        """A name that is both a maintained site and a server comes back as both (rule E4)."""
        both = Customer(
            "dave",
            sites=frozenset({"dave.example"}),
            servers=frozenset({"dave.example"}),
            maintained_sites=frozenset({"dave.example"}),
        )
        self.add(customers, both)
        assert both == customers.find("dave")
