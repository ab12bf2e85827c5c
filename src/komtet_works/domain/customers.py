"""Customers, the targets they own, and the eligibility rules E1-E3 and P4."""

from __future__ import annotations

import enum

import attrs

from komtet_works.domain.errors import NotCustomerTarget


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

    def target(self, name: str) -> Target:
        """The customer's own site or server called `name` (rule E1)."""
        if name in self.sites:
            return Target(TargetKind.SITE, name)
        if name in self.servers:
            return Target(TargetKind.SERVER, name)
        raise NotCustomerTarget(
            f"{name!r} is not a site or server of customer {self.id!r} on this hosting"
        )

    def has_maintenance_on(self, target: Target) -> bool:
        """Rule P4/E3: the discount is for the serviced site under an active subscription."""
        return target.kind is TargetKind.SITE and target.name in self.maintained_sites
