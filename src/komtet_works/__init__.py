"""komtet-works: the reference implementation of a hosting provider's paid Additional Works.

The public API is re-exported here; the modules behind it are private to the package.
The domain and the relay are imported at once; the service and the reconciliation on first
use (PEP 562), so a quote or a script using the domain alone does not pay for them.  (The
relay stays eager: its module and its function share the name ``relay``, and a lazy import
of the module would leave the module, not the function, under that name.)
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Final

from komtet_works._version import __version__
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
from komtet_works.relay import RelayPolicy, relay, relay_billing

if TYPE_CHECKING:
    from komtet_works.reconciliation import Difference, reconcile
    from komtet_works.use_cases import WorkOrderService

#: The names imported on first use, and their modules.
_LAZY: Final = {
    "Difference": "komtet_works.reconciliation",
    "reconcile": "komtet_works.reconciliation",
    "WorkOrderService": "komtet_works.use_cases",
}

# A library logs; the host decides where it goes (without a handler of the host's, Python's
# last-resort handler would print warnings to stderr).
logging.getLogger(__name__).addHandler(logging.NullHandler())

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


def __getattr__(name: str) -> object:
    """`name`, imported from its module the first time it is asked for."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
