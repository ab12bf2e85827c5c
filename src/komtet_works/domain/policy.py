"""Policy: the answers to the questions the service description leaves open.

One value, `Policy`, gathers every decision a host may reasonably make differently.
The defaults and their rationale are the decisions D-* of docs/spec.md.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs
import pendulum

from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.instants import beyond_the_calendar, exact_after


class ClaimWindowMeasure(enum.Enum):
    """How "3 days from the completion notice" is measured (decision D-CLAIM-WINDOW)."""

    #: exactly `claim_window` of elapsed time from the instant the notice was sent
    ELAPSED = "elapsed"
    #: the same wall-clock time `claim_window.days` calendar days later in the provider's
    #: time zone (23 or 25 elapsed hours in a day with a DST change)
    CALENDAR_DAYS = "calendar_days"


class PriceLock(enum.Enum):
    """Which tariff and discount eligibility a payment is judged by (D-PRICE-LOCK)."""

    #: the quote fixes the price until it expires; later tariff or subscription changes
    #: do not touch it
    AT_ESTIMATE = "at_estimate"
    #: at payment the price is computed again; if it differs, the payment is refused
    #: (`quote_outdated`) and staff must re-estimate
    AT_PAYMENT = "at_payment"


class SpentHours(enum.Enum):
    """What the hours staff log do to the money of a paid order (decision D-OVERRUN)."""

    #: the paid quote is the price: more hours are the provider's risk, fewer are not
    #: refunded; the hours logged are a record
    FIXED_PRICE = "fixed_price"
    #: the paid quote is the most the customer pays: at the first completion, hours spent
    #: (billed as the quote bills hours) below its billable hours are refunded (rule H2)
    REFUND_UNUSED = "refund_unused"
    #: the hours spent may not pass the hours paid for: past them the works stop until
    #: the customer pays a supplementary estimate of the extra hours (rules H3-H5)
    SUPPLEMENTARY_ESTIMATE = "supplementary_estimate"


def _positive_duration(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidInput(f"policy {attribute.name} must be positive", field=attribute.name)


@attrs.frozen
class Policy:
    """Every open question of the service description, answered; hosts may change any."""

    #: D-CLAIM-WINDOW: "within 3 days from the moment of sending the notice"
    claim_window: timedelta = attrs.field(default=timedelta(days=3), validator=_positive_duration)
    claim_window_measure: ClaimWindowMeasure = ClaimWindowMeasure.ELAPSED
    #: D-CLAIM-WINDOW: the provider's time zone, for calendar-day windows
    provider_timezone: str = attrs.field(default="Europe/Moscow")
    #: D-QUOTE-VALIDITY: how long a quote stays payable
    quote_valid_for: timedelta = attrs.field(
        default=timedelta(days=7), validator=_positive_duration
    )
    #: D-PRICE-LOCK
    price_lock: PriceLock = PriceLock.AT_ESTIMATE
    #: D-OVERRUN: what the hours spent do to the money of a paid order
    spent_hours: SpentHours = SpentHours.FIXED_PRICE
    #: D-CLAIMS: how many claims one order may have
    max_claims: int = attrs.field(default=1)
    #: D-CLAIMS: may staff reject a claim filed in time with no customer change?  The
    #: service description says such a customer "will be refunded the paid sum" (C5)
    claims_may_be_rejected: bool = False
    #: D-CANCELLATION: may the customer cancel (full refund) after paying, before works
    #: start?
    cancel_before_start: bool = True
    #: D-UNAPPLIED: is a payment the rules refuse for its order refunded in full at once
    #: (true), or held, unapplied, for staff to decide (false)?
    refund_unapplied: bool = True

    @provider_timezone.validator
    def _known_zone(self, attribute: attrs.Attribute[str], value: str) -> None:
        try:
            pendulum.timezone(value)
        except (ValueError, OSError):  # unknown (InvalidTimezone), malformed, too long
            raise InvalidInput(f"unknown time zone {value!r}", field=attribute.name) from None

    @max_claims.validator
    def _at_least_one(self, attribute: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or value < 1:  # bool is an int, but not a count
            raise InvalidInput("policy max_claims must be at least 1", field=attribute.name)

    def claim_deadline(self, notice_sent_at: pendulum.DateTime) -> pendulum.DateTime:
        """The last instant a claim may be filed (inclusive, rule C1).

        Computed once, when the notice is recorded; claims then compare instants.
        """
        if self.claim_window_measure is ClaimWindowMeasure.ELAPSED:
            return exact_after(notice_sent_at, self.claim_window)
        local = notice_sent_at.in_timezone(self.provider_timezone)
        # The wall clock as a plain naive datetime, so days and hours alike add to it.
        wall = datetime(  # noqa: DTZ001 - naive on purpose: localised below
            local.year, local.month, local.day, local.hour, local.minute, local.second,
            local.microsecond,
        )  # fmt: skip
        try:
            later = wall + self.claim_window
        except OverflowError:
            raise beyond_the_calendar(notice_sent_at) from None
        # A wall-clock time skipped or repeated by a DST change has two readings; the later
        # counts, so the customer keeps the longer window.  In UTC: Python compares two
        # datetimes of one zone by wall clock, ignoring `fold`.
        readings = (
            later.replace(tzinfo=local.tzinfo, fold=fold).astimezone(pendulum.UTC)
            for fold in (0, 1)
        )
        return pendulum.instance(max(readings))
