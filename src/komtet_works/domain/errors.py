"""The one exception hierarchy of komtet-works.

Every refusal is a subclass of `KomtetWorksError` and carries a stable snake_case
`code`: the code is the contract at the edges (CLI, scenario files, other languages),
the class is the contract inside Python.  A refused operation changes nothing.
"""

from __future__ import annotations

from typing import ClassVar


class KomtetWorksError(Exception):
    """Root of every error the library raises on purpose."""

    code: ClassVar[str] = "error"

    @property
    def message(self) -> str:
        return str(self)


# --- bad input --------------------------------------------------------------------------


class InvalidInput(KomtetWorksError, ValueError):
    """A value that cannot mean anything here: the caller must correct it.

    All input errors share the code ``invalid_input``; the subclass and `field` say which.
    """

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidMoney(InvalidInput):
    """A float, NaN, infinity, non-number, or more precision than the currency has."""


class UnknownCurrency(InvalidInput):
    """A currency code the library does not know."""


class InvalidHours(InvalidInput):
    """Hours that are not a finite positive decimal."""


class NaiveDatetime(InvalidInput):
    """A datetime without a time zone: an instant cannot be known from it."""


class CurrencyMismatch(KomtetWorksError, ValueError):
    """Arithmetic or comparison across two currencies."""

    code = "currency_mismatch"


# --- eligibility (rules E1-E3) ---------------------------------------------------------


class EligibilityError(KomtetWorksError):
    """The service cannot be ordered for this customer or target."""


class UnknownCustomer(EligibilityError):
    code = "unknown_customer"


class NotCustomerTarget(EligibilityError):
    """Third-party equipment, or a site or server of another customer."""

    code = "not_customer_target"


class AmbiguousTarget(EligibilityError):
    """A name that is both a site and a server of the customer, asked for without a kind."""

    code = "ambiguous_target"


class NotOrderOwner(EligibilityError):
    code = "not_order_owner"


class HostingFaultFreeSupport(EligibilityError):
    """A problem of the hosting itself: free Technical Support handles it."""

    code = "hosting_fault_free_support"


# --- lifecycle rules -------------------------------------------------------------------


class RuleViolation(KomtetWorksError):
    """The order exists, but the rules refuse this step now."""


class InvalidTransition(RuleViolation):
    code = "invalid_transition"


class ActorNotAllowed(RuleViolation):
    """The step is one the customer, staff or billing system may not take."""

    code = "actor_not_allowed"


class OutOfOrder(RuleViolation):
    """A step dated before the order's last recorded step."""

    code = "out_of_order"


class NoCurrentQuote(RuleViolation):
    code = "no_current_quote"


class QuoteExpired(RuleViolation):
    code = "quote_expired"


class QuoteOutdated(RuleViolation):
    """Under a payment-time price lock: the price changed since the quote, re-estimate."""

    code = "quote_outdated"


class AmountMismatch(RuleViolation):
    code = "amount_mismatch"


class PaymentConflict(RuleViolation):
    """One payment id reported twice with different facts."""

    code = "payment_conflict"


class PaymentBelongsToAnotherOrder(RuleViolation):
    """A billing payment id that already paid another order (rule K2): a payment is one
    order's for ever, so the report is recorded as a conflict for staff and changes nothing."""

    code = "payment_belongs_to_another_order"


class InvalidRefund(RuleViolation):
    """A refund that would exceed a payment or refund one twice."""

    code = "invalid_refund"


class BackupNotConfirmed(RuleViolation):
    code = "backup_not_confirmed"


class TargetBusy(RuleViolation):
    """Another order's works on the same site or server are in progress (rule T1): one
    order in works per target, whoever's it is."""

    code = "target_busy"


class RestoreNotPending(RuleViolation):
    """A staff decision on a restore that is not waiting for one (rule T3)."""

    code = "restore_not_pending"


class ClaimWindowClosed(RuleViolation):
    code = "claim_window_closed"


class ClaimVoidCustomerChanges(RuleViolation):
    code = "claim_void_customer_changes"


class ClaimLimitReached(RuleViolation):
    code = "claim_limit_reached"


class ClaimMustBeHonoured(RuleViolation):
    """Rejecting a claim filed in time with no customer change: under the default policy
    the customer is entitled to the refund and the restore (rule C5)."""

    code = "claim_must_be_honoured"


class ReworkNotAgreed(RuleViolation):
    """Rework of a claim whose customer asked for their money back (rule C5)."""

    code = "rework_not_agreed"


class NoticeNotSent(RuleViolation):
    """A claim or a close before the completion notice went out: the claim window opens
    only when the notice is sent (rule C1)."""

    code = "notice_not_sent"


class NoticeAlreadySent(RuleViolation):
    """A second send time for one completion notice: its window is already set."""

    code = "notice_already_sent"


class ClaimWindowOpen(RuleViolation):
    """Closing while a claim can still be filed."""

    code = "claim_window_open"


class CancellationNotAllowed(RuleViolation):
    code = "cancellation_not_allowed"


class DueTooSoon(RuleViolation):
    """A completion date of staff's own nearer than the order's billable hours of working
    time allow (rule S1)."""

    code = "due_too_soon"


class SupplementaryEstimateNeeded(RuleViolation):
    """The hours spent passed the hours paid for (rule H3): the works go on only once the
    customer paid a supplementary estimate."""

    code = "supplementary_estimate_needed"


# --- the business calendar -------------------------------------------------------------


class CalendarNotCovered(KomtetWorksError, LookupError):
    """A day the business calendar has no data for: it will not guess a working day."""

    code = "calendar_not_covered"


class NoRoomInCalendar(RuleViolation):
    """The business calendar gives no working time for too long a run of days (rule L4):
    no completion date can be suggested from it."""

    code = "no_room_in_calendar"


# --- orders and storage ----------------------------------------------------------------


class UnknownOrder(KomtetWorksError, LookupError):
    code = "unknown_order"


class OrderExists(KomtetWorksError):
    code = "order_exists"


class ConcurrencyError(KomtetWorksError):
    """A save based on a stale version: someone else changed the order first."""

    code = "stale_version"


class DatabaseError(KomtetWorksError):
    """A database did not do what a store asked; the driver's error is the `__cause__`.

    Lock and serialization failures are not these: they are `ConcurrencyError`, and a
    retry of the use case converges.
    """

    code = "database_error"


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or opened: down, refused, or not a database."""

    code = "database_unavailable"


class ConstraintViolated(DatabaseError):
    """A row broke one of the schema's constraints; `duplicate` when it was a unique key."""

    code = "constraint_violated"

    def __init__(self, message: str, *, duplicate: bool = False) -> None:
        super().__init__(message)
        self.duplicate = duplicate


class SchemaNotMigrated(DatabaseError):
    """The database lacks the tables: run the store's `migrate()` first."""

    code = "schema_not_migrated"


class SchemaTooNew(DatabaseError):
    """The database was migrated by a newer komtet-works than this one."""

    code = "schema_too_new"


# --- external systems ------------------------------------------------------------------


class ExternalSystemError(KomtetWorksError):
    """A port reported that the outside world did not do what was asked."""


class BackupFailed(ExternalSystemError):
    code = "backup_failed"


class RestoreFailed(ExternalSystemError):
    code = "restore_failed"


class BillingFailed(ExternalSystemError):
    code = "billing_failed"


class NotificationFailed(ExternalSystemError):
    code = "notification_failed"


def refusal(code: str, message: str) -> KomtetWorksError:
    """A refusal of the class that has `code` (the first, for a code several classes share),
    for reporting again a refusal that was kept by its code."""
    pending: list[type[KomtetWorksError]] = [KomtetWorksError]
    while pending:
        kind = pending.pop(0)
        if kind.code == code:
            return kind(message)
        pending.extend(kind.__subclasses__())
    return KomtetWorksError(message)
