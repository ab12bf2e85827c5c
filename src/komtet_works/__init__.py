"""komtet-works: the reference implementation of a hosting provider's paid Additional Works.

The public API is re-exported here; the modules behind it are private to the package.
Every name is imported from its module on first use (PEP 562): ``import komtet_works``
loads no module of the domain, and a quote, or a script using the domain alone, loads only
the modules it touches, never the service, the relay and the ports along with them.

One public name, ``relay``, is also the name of the module defining it.  The import system
sets a submodule, once loaded, as an attribute of its package; this package declines that
one (`_Package`), so ``komtet_works.relay`` is always the function, as the name is
documented, whether or not ``komtet_works.relay`` the module was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Final

from komtet_works._lazy import exports
from komtet_works._version import __version__

if TYPE_CHECKING:
    from komtet_works.domain.commands import (
        BillingCommand,
        RefundPayment,
        RefundUnusedHours,
        RequestInvoice,
        VoidInvoice,
    )
    from komtet_works.domain.customers import Customer, Target, TargetKind
    from komtet_works.domain.errors import (
        ActorNotAllowed,
        AmbiguousTarget,
        AmountMismatch,
        BackupFailed,
        BackupNotConfirmed,
        BillingFailed,
        CalendarNotCovered,
        CancellationNotAllowed,
        ClaimLimitReached,
        ClaimMustBeHonoured,
        ClaimVoidCustomerChanges,
        ClaimWindowClosed,
        ClaimWindowOpen,
        ConcurrencyError,
        CurrencyMismatch,
        DueTooSoon,
        EligibilityError,
        ExternalSystemError,
        HostingFaultFreeSupport,
        InvalidHours,
        InvalidInput,
        InvalidMoney,
        InvalidRefund,
        InvalidTransition,
        KomtetWorksError,
        NaiveDatetime,
        NoCurrentQuote,
        NoRoomInCalendar,
        NotCustomerTarget,
        NoticeAlreadySent,
        NoticeNotSent,
        NotificationFailed,
        NotOrderOwner,
        OrderExists,
        OutOfOrder,
        PaymentBelongsToAnotherOrder,
        PaymentConflict,
        QuoteExpired,
        QuoteOutdated,
        RestoreFailed,
        RestoreNotPending,
        ReworkNotAgreed,
        RuleViolation,
        SupplementaryEstimateNeeded,
        TargetBusy,
        UnknownCurrency,
        UnknownCustomer,
        UnknownOrder,
    )
    from komtet_works.domain.events import (
        Actor,
        ClaimAccepted,
        ClaimFiled,
        ClaimRejected,
        CompletionDateAnnounced,
        CompletionNoticeSent,
        CustomerChangeRecorded,
        EstimateIssued,
        Event,
        OrderCancelled,
        OrderClosed,
        OrderRequested,
        OrderWithdrawn,
        PaymentReceived,
        QuoteDeclined,
        RefundsSettled,
        RequestSupplemented,
        ReworkStarted,
        WorksCompleted,
        WorksFailed,
        WorksStarted,
    )
    from komtet_works.domain.intake import ConflictingReport, ReportedPayment
    from komtet_works.domain.keys import operation_key
    from komtet_works.domain.ledger import Ledger, Payment, Refund
    from komtet_works.domain.lifecycle import TRANSITIONS, Action, ActorKind, State
    from komtet_works.domain.money import ExactNumber, Money
    from komtet_works.domain.policy import ClaimWindowMeasure, Policy, PriceLock, SpentHours
    from komtet_works.domain.pricing import HoursRounding, Quote, Tariff, parse_hours, price
    from komtet_works.domain.work_order import WorkOrder
    from komtet_works.domain.works import (
        Backup,
        Claim,
        ClaimOutcome,
        ClaimRemedy,
        Urgency,
        WithdrawalReason,
        Works,
    )
    from komtet_works.reconciliation import Difference, reconcile
    from komtet_works.relay import RelayPolicy, relay, relay_billing
    from komtet_works.use_cases import WorkOrderService

#: Each module behind the public API, and the names it gives it.
_MODULES: Final = {
    "domain.commands": (
        "BillingCommand",
        "RefundPayment",
        "RefundUnusedHours",
        "RequestInvoice",
        "VoidInvoice",
    ),
    "domain.customers": ("Customer", "Target", "TargetKind"),
    "domain.errors": (
        "ActorNotAllowed",
        "AmbiguousTarget",
        "AmountMismatch",
        "BackupFailed",
        "BackupNotConfirmed",
        "BillingFailed",
        "CalendarNotCovered",
        "CancellationNotAllowed",
        "ClaimLimitReached",
        "ClaimMustBeHonoured",
        "ClaimVoidCustomerChanges",
        "ClaimWindowClosed",
        "ClaimWindowOpen",
        "ConcurrencyError",
        "CurrencyMismatch",
        "DueTooSoon",
        "EligibilityError",
        "ExternalSystemError",
        "HostingFaultFreeSupport",
        "InvalidHours",
        "InvalidInput",
        "InvalidMoney",
        "InvalidRefund",
        "InvalidTransition",
        "KomtetWorksError",
        "NaiveDatetime",
        "NoCurrentQuote",
        "NoRoomInCalendar",
        "NotCustomerTarget",
        "NoticeAlreadySent",
        "NoticeNotSent",
        "NotificationFailed",
        "NotOrderOwner",
        "OrderExists",
        "OutOfOrder",
        "PaymentBelongsToAnotherOrder",
        "PaymentConflict",
        "QuoteExpired",
        "QuoteOutdated",
        "RestoreFailed",
        "RestoreNotPending",
        "ReworkNotAgreed",
        "RuleViolation",
        "SupplementaryEstimateNeeded",
        "TargetBusy",
        "UnknownCurrency",
        "UnknownCustomer",
        "UnknownOrder",
    ),
    "domain.events": (
        "Actor",
        "ClaimAccepted",
        "ClaimFiled",
        "ClaimRejected",
        "CompletionDateAnnounced",
        "CompletionNoticeSent",
        "CustomerChangeRecorded",
        "EstimateIssued",
        "Event",
        "OrderCancelled",
        "OrderClosed",
        "OrderRequested",
        "OrderWithdrawn",
        "PaymentReceived",
        "QuoteDeclined",
        "RefundsSettled",
        "RequestSupplemented",
        "ReworkStarted",
        "WorksCompleted",
        "WorksFailed",
        "WorksStarted",
    ),
    "domain.intake": ("ConflictingReport", "ReportedPayment"),
    "domain.keys": ("operation_key",),
    "domain.ledger": ("Ledger", "Payment", "Refund"),
    "domain.lifecycle": ("TRANSITIONS", "Action", "ActorKind", "State"),
    "domain.money": ("ExactNumber", "Money"),
    "domain.policy": ("ClaimWindowMeasure", "Policy", "PriceLock", "SpentHours"),
    "domain.pricing": ("HoursRounding", "Quote", "Tariff", "parse_hours", "price"),
    "domain.work_order": ("WorkOrder",),
    "domain.works": (
        "Backup",
        "Claim",
        "ClaimOutcome",
        "ClaimRemedy",
        "Urgency",
        "WithdrawalReason",
        "Works",
    ),
    "reconciliation": ("Difference", "reconcile"),
    "relay": ("RelayPolicy", "relay", "relay_billing"),
    "use_cases": ("WorkOrderService",),
}
#: Each public name and the module that defines it.
_HOMES: Final = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "TRANSITIONS",
    "Action",
    "Actor",
    "ActorKind",
    "ActorNotAllowed",
    "AmbiguousTarget",
    "AmountMismatch",
    "Backup",
    "BackupFailed",
    "BackupNotConfirmed",
    "BillingCommand",
    "BillingFailed",
    "CalendarNotCovered",
    "CancellationNotAllowed",
    "Claim",
    "ClaimAccepted",
    "ClaimFiled",
    "ClaimLimitReached",
    "ClaimMustBeHonoured",
    "ClaimOutcome",
    "ClaimRejected",
    "ClaimRemedy",
    "ClaimVoidCustomerChanges",
    "ClaimWindowClosed",
    "ClaimWindowMeasure",
    "ClaimWindowOpen",
    "CompletionDateAnnounced",
    "CompletionNoticeSent",
    "ConcurrencyError",
    "ConflictingReport",
    "CurrencyMismatch",
    "Customer",
    "CustomerChangeRecorded",
    "Difference",
    "DueTooSoon",
    "EligibilityError",
    "EstimateIssued",
    "Event",
    "ExactNumber",
    "ExternalSystemError",
    "HostingFaultFreeSupport",
    "HoursRounding",
    "InvalidHours",
    "InvalidInput",
    "InvalidMoney",
    "InvalidRefund",
    "InvalidTransition",
    "KomtetWorksError",
    "Ledger",
    "Money",
    "NaiveDatetime",
    "NoCurrentQuote",
    "NoRoomInCalendar",
    "NotCustomerTarget",
    "NotOrderOwner",
    "NoticeAlreadySent",
    "NoticeNotSent",
    "NotificationFailed",
    "OrderCancelled",
    "OrderClosed",
    "OrderExists",
    "OrderRequested",
    "OrderWithdrawn",
    "OutOfOrder",
    "Payment",
    "PaymentBelongsToAnotherOrder",
    "PaymentConflict",
    "PaymentReceived",
    "Policy",
    "PriceLock",
    "Quote",
    "QuoteDeclined",
    "QuoteExpired",
    "QuoteOutdated",
    "Refund",
    "RefundPayment",
    "RefundUnusedHours",
    "RefundsSettled",
    "RelayPolicy",
    "ReportedPayment",
    "RequestInvoice",
    "RequestSupplemented",
    "RestoreFailed",
    "RestoreNotPending",
    "ReworkNotAgreed",
    "ReworkStarted",
    "RuleViolation",
    "SpentHours",
    "State",
    "SupplementaryEstimateNeeded",
    "Target",
    "TargetBusy",
    "TargetKind",
    "Tariff",
    "UnknownCurrency",
    "UnknownCustomer",
    "UnknownOrder",
    "Urgency",
    "VoidInvoice",
    "WithdrawalReason",
    "WorkOrder",
    "WorkOrderService",
    "Works",
    "WorksCompleted",
    "WorksFailed",
    "WorksStarted",
    "__version__",
    "operation_key",
    "parse_hours",
    "price",
    "reconcile",
    "relay",
    "relay_billing",
]


class _Package(types.ModuleType):
    """This package's module: a submodule does not displace the public name it shares."""

    def __setattr__(self, name: str, value: object) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{_HOMES.get(name)}"
        ):
            return  # `relay` the module: `relay` the function keeps the name (on first use)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__getattr__, __dir__ = exports(__name__, _HOMES, __all__)
