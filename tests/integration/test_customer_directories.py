"""The customer directories in a real database: customers, targets, Site Maintenance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komtet_works import Customer, InvalidInput, NotCustomerTarget, Target, TargetKind
from komtet_works.adapters import SqliteCustomerDirectory
from komtet_works.adapters.postgres import PostgresCustomerDirectory

Directory = SqliteCustomerDirectory | PostgresCustomerDirectory
Opener = Callable[[], Directory]

ALICE = Customer(
    "alice",
    sites=frozenset({"alice.ru", "shop.alice.ru"}),
    servers=frozenset({"vps-alice"}),
    maintained_sites=frozenset({"shop.alice.ru"}),
)


@pytest.fixture(
    name="open_directory",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fixture_open_directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a directory on one new database each time it is called; all closed after."""
    opened: list[Directory] = []
    if request.param == "sqlite":
        path = tmp_path / "customers.sqlite"

        def open_directory() -> Directory:
            opened.append(SqliteCustomerDirectory(path, migrate=True))
            return opened[-1]
    else:
        dsn: str = request.getfixturevalue("pg_dsn")

        def open_directory() -> Directory:
            opened.append(PostgresCustomerDirectory(dsn, migrate=True))
            return opened[-1]

    yield open_directory
    for directory in opened:
        directory.close()


@pytest.fixture(name="directory")
def fixture_directory(open_directory: Opener) -> Directory:
    return open_directory()


@pytest.mark.rule("E1")
def test_a_customer_nobody_added_is_not_found(directory: Directory) -> None:
    """find of an unknown id is None: the use cases turn it into unknown_customer."""
    assert directory.find("mallory") is None


def test_a_customer_comes_back_with_every_site_server_and_subscription(
    open_directory: Opener,
) -> None:
    """What was put is what a new connection finds, subscriptions included."""
    open_directory().put(ALICE)
    assert ALICE == open_directory().find("alice")


@pytest.mark.rule("E1")
def test_the_target_of_a_found_customer_is_checked_against_their_own(
    directory: Directory,
) -> None:
    """The customer found owns vps-alice, and not bob.ru."""
    directory.put(ALICE)
    found = directory.find("alice")
    assert found is not None
    assert Target(TargetKind.SERVER, "vps-alice") == found.target("vps-alice")
    with pytest.raises(NotCustomerTarget):
        found.target("bob.ru")


@pytest.mark.rule("E3", "P4")
def test_putting_a_customer_again_replaces_their_subscriptions(directory: Directory) -> None:
    """A subscription that ended is gone after the customer is put again without it."""
    directory.put(ALICE)
    directory.put(Customer("alice", sites=ALICE.sites, servers=ALICE.servers))
    found = directory.find("alice")
    assert found is not None
    assert (frozenset(), ALICE.sites) == (found.maintained_sites, found.sites)
    assert not found.has_maintenance_on(Target(TargetKind.SITE, "shop.alice.ru"))


def test_customers_are_kept_apart(directory: Directory) -> None:
    """Putting bob changes nothing of alice."""
    bob = Customer("bob", sites=frozenset({"bob.ru"}))
    directory.put(ALICE)
    directory.put(bob)
    assert (ALICE, bob) == (directory.find("alice"), directory.find("bob"))


@pytest.mark.rule("P4")
def test_a_maintained_site_must_be_one_of_the_customers_sites(directory: Directory) -> None:
    """A subscription on a site the customer lacks: invalid_input, nothing stored."""
    stray = Customer("eve", sites=frozenset({"eve.ru"}), maintained_sites=frozenset({"x.ru"}))
    with pytest.raises(InvalidInput, match=r"x\.ru"):
        directory.put(stray)
    assert directory.find("eve") is None


@pytest.mark.parametrize("customer_id", ["", "   "])
def test_an_empty_customer_id_is_refused(directory: Directory, customer_id: str) -> None:
    """An id of nothing cannot name a customer: invalid_input."""
    with pytest.raises(InvalidInput):
        directory.put(Customer(customer_id))


names = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30).filter(
    str.strip
)


@given(
    customer_id=names,
    sites=st.frozensets(names, max_size=4),
    servers=st.frozensets(names, max_size=4),
    data=st.data(),
)
def test_any_customer_is_kept_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    customer_id: str,
    sites: frozenset[str],
    servers: frozenset[str],
    data: st.DataObject,
) -> None:
    """Quotes, SQL, unicode in ids and names: a customer reads back equal to what was put."""
    maintained = data.draw(st.frozensets(st.sampled_from(sorted(sites)))) if sites else frozenset()
    customer = Customer(customer_id, sites=sites, servers=servers, maintained_sites=maintained)
    with SqliteCustomerDirectory(
        tmp_path_factory.getbasetemp() / "any.sqlite", migrate=True
    ) as directory:
        directory.put(customer)
        assert customer == directory.find(customer_id)
