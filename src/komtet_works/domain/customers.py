"""Customers, the targets they own, and the eligibility rules E1-E3 and P4."""

from __future__ import annotations

import enum

import attrs

from komtet_works.domain.errors import AmbiguousTarget, NotCustomerTarget


class TargetKind(enum.Enum):
    SITE = "site"
    SERVER = "server"


@attrs.frozen
class Target:
    """A site or a server (VPS) hosted by the provider."""

    kind: TargetKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}"


@attrs.frozen
class Customer:
    """A hosting customer as the customer directory knows them now.

    `maintained_sites` are the sites under an *active* Site Maintenance subscription.
    """

    id: str
    sites: frozenset[str] = frozenset()
    servers: frozenset[str] = frozenset()
    maintained_sites: frozenset[str] = frozenset()

    def target(self, name: str, kind: TargetKind | None = None) -> Target:
        """The customer's own site or server called `name` (rules E1, E4).

        Without `kind` the name must be one target only: a name that is both a site and a
        server of the customer is `AmbiguousTarget`.
        """
        owned = tuple(
            each
            for each, names in ((TargetKind.SITE, self.sites), (TargetKind.SERVER, self.servers))
            if name in names and kind in (None, each)
        )
        if len(owned) > 1:
            raise AmbiguousTarget(
                f"{name!r} is both a site and a server of customer {self.id!r}: say which"
            )
        if not owned:
            what = "a site or server" if kind is None else f"a {kind.value}"
            raise NotCustomerTarget(
                f"{name!r} is not {what} of customer {self.id!r} on this hosting"
            )
        return Target(owned[0], name)

    def has_maintenance_on(self, target: Target) -> bool:
        """Rule P4/E3: the discount is for the serviced site under an active subscription."""
        return target.kind is TargetKind.SITE and target.name in self.maintained_sites
