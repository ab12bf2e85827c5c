"""Everything komtet-works shows at its edges, for people and as JSON, in one place.

JSON: money and hours are decimal strings, never JSON numbers (a number would be read as
a float on the other side); instants are ISO 8601 with their offset.  For people:
instants in the provider's zone, and every text that came from outside (customers' words,
ids) with its control characters escaped, so that it cannot drive the operator's terminal.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import pendulum

from komtet_works.domain.errors import KomtetWorksError
from komtet_works.domain.policy import Policy
from komtet_works.domain.scheduling import is_overdue

if TYPE_CHECKING:  # only shown here: `quote` shows a quote without loading the order's model
    from komtet_works.domain.events import Event
    from komtet_works.domain.intake import ConflictingReport, ReportedPayment
    from komtet_works.domain.ledger import Ledger, Payment
    from komtet_works.domain.lifecycle import State
    from komtet_works.domain.pricing import Quote
    from komtet_works.domain.work_order import WorkOrder
    from komtet_works.domain.works import Claim, Works
    from komtet_works.ports.outbox import DeadLetter

PROG: Final = "komtet-works"
#: The zone of the human output: the provider's.
PROVIDER_ZONE: Final = Policy().provider_timezone


def safe(text: str) -> str:
    """`text` for a terminal: control and format characters (escape sequences, bidi
    overrides, line breaks) as ``\\x1b``-style escapes; everything else as it is."""
    if text.isprintable():
        return text
    return "".join(
        char
        if char.isprintable() and unicodedata.category(char) != "Cf"
        else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _json_escape(char: str) -> str:
    """`char` as JSON's ``\\uXXXX`` escape (a surrogate pair beyond the BMP)."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json(document: object) -> str:
    """`document` as indented JSON whose every character is printable: the control and
    format characters JSON allows raw (DEL, C1 controls such as CSI, bidi overrides) are
    escaped too, so a JSON document on a terminal cannot drive it either."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if text.replace("\n", "").isprintable():
        return text
    return "".join(
        char if char == "\n" or char.isprintable() else _json_escape(char) for char in text
    )


def decimal_text(number: Decimal) -> str:
    """A decimal as plain text, never in exponent form."""
    return f"{number:f}"


def quote_json(quote: Quote) -> dict[str, str]:
    """The `quote` object of the scenario contract (shared/SCENARIOS.md), plus its extras."""
    shown = {
        "hours": decimal_text(quote.hours),
        "billable_hours": decimal_text(quote.billable_hours),
        "rate": decimal_text(quote.rate.amount),
        "gross": decimal_text(quote.gross.amount),
        "discount": decimal_text(quote.discount.amount),
        "total": decimal_text(quote.total.amount),
        "currency": quote.currency,
        "tariff_version": quote.tariff_version,
        "issued_at": quote.issued_at.isoformat(),
        "payable_until": quote.payable_until.isoformat(),
    }
    if quote.discount_reason is not None:
        shown["discount_reason"] = quote.discount_reason
    return shown


def _payment_json(payment: Payment) -> dict[str, str]:
    return {
        "id": payment.id,
        "amount": decimal_text(payment.amount.amount),
        "currency": payment.amount.currency,
        "received_at": payment.received_at.isoformat(),
    }


def reported_json(report: ReportedPayment) -> dict[str, Any]:
    """A payment of the intake (rule K2): applied, or held unapplied with why."""
    return {
        **_payment_json(report.payment),
        "order": report.order_id,
        "applied": report.applied,
        "refused": report.refused,
        "refund_reference": report.refund_reference,
    }


def conflict_json(conflict: ConflictingReport) -> dict[str, Any]:
    """A report of a known payment id for another order or amount, kept for staff."""
    return {**_payment_json(conflict.payment), "order": conflict.order_id, "code": conflict.code}


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_json(order: WorkOrder, history: Sequence[Event]) -> dict[str, Any]:
    """Everything the order holds and its `history`, money as decimal strings, instants
    as ISO 8601; the supplements, claims and hours entries read from the history (the
    order's state keeps only the latest claim and the hours' sum)."""
    from komtet_works.domain import recorded  # noqa: PLC0415 - `quote` loads no events

    ledger, works = order.ledger, order.works
    backup = works.backup
    return {
        **summary_json(order),
        "problem": order.problem,
        "supplements": list(recorded.supplements(history)),
        "current_quote": None if ledger.current_quote is None else quote_json(ledger.current_quote),
        "quotes": [quote_json(q) for q in ledger.quotes],
        "supplementary_quote": None
        if ledger.supplementary_quote is None
        else quote_json(ledger.supplementary_quote),
        "paid_hours": decimal_text(ledger.paid_hours),
        "currency": ledger.currency,
        "paid": decimal_text(ledger.paid.amount),
        "refunded": decimal_text(ledger.refunded.amount),
        "payments": [
            {
                "id": p.id,
                "amount": decimal_text(p.amount.amount),
                "received_at": _when(p.received_at),
            }
            for p in ledger.payments
        ],
        "refunds": [
            {
                "payment_id": r.payment_id,
                "amount": decimal_text(r.amount.amount),
                "reference": r.reference,
            }
            for r in ledger.refunds
        ],
        "works": {
            "due": _when(works.due),
            "backup": None
            if backup is None
            else {
                "reference": backup.reference,
                "taken_at": _when(backup.taken_at),
                "verified": backup.verified,
            },
            "started_at": _when(works.started_at),
            "customer_changes": [_when(at) for at in works.customer_changes],
            "notice_sent_at": _when(works.notice_sent_at),
            "claim_deadline": _when(works.claim_deadline),
            "claims": [
                {
                    "filed_at": _when(c.filed_at),
                    "text": c.text,
                    "outcome": None if c.outcome is None else c.outcome.value,
                }
                for c in recorded.claims(history)
            ],
            "restored": works.restored,
            "restore_withheld": None
            if works.restore_withheld is None
            else works.restore_withheld.value,
            "conflicting_order": works.conflicting_order,
            "restore_override": works.restore_override,
            "spent_hours": decimal_text(works.spent_hours),
            "time_entries": [
                {
                    "logged_by": entry.logged_by,
                    "logged_at": _when(entry.logged_at),
                    "hours": decimal_text(entry.hours),
                    "note": entry.note,
                }
                for entry in recorded.time_entries(history)
            ],
        },
        "events": [
            {
                "type": type(e).__name__,
                "at": _when(e.at),
                "actor": {"kind": e.actor.kind.value, "id": e.actor.id},
                "before": None if e.before is None else e.before.value,
                "after": e.after.value,
            }
            for e in history
        ],
    }


def summary_json(order: WorkOrder, *, now: datetime | None = None) -> dict[str, Any]:
    """An order in a list: who, what, where it stands; given `now`, whether it is past its
    completion date (rule S3)."""
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "target": {"kind": order.target.kind.value, "name": order.target.name},
        "state": order.state.value,
        "version": order.version,
        **({} if now is None else {"overdue": is_overdue(order, now)}),
    }


def summary_line(order: WorkOrder, *, now: datetime) -> str:
    """An order in a list, for people: "overdue" at the end once past its date (S3)."""
    line = f"{order.id}  {order.customer_id}  {order.target}  {order.state.value}"
    late = "  overdue" if is_overdue(order, now) else ""
    return f"{line}  (version {order.version}){late}"


def overdue_line(order_id: str, state: State, due: datetime) -> str:
    """An order past its completion date (rule S3), for people: the date in the provider's
    zone."""
    return f"{order_id}  {state.value}  overdue: due {_local(due)}"


def _local(instant: datetime) -> str:
    """An instant as people at the provider read it: ISO 8601 in the provider's zone, to the
    second (``2026-03-05T12:40:37+03:00``; JSON keeps the exact instant)."""
    return pendulum.instance(instant).in_timezone(PROVIDER_ZONE).format("YYYY-MM-DDTHH:mm:ssZ")


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    """A message parked as dead, its instant exact."""
    return {
        "id": letter.id,
        "order_id": letter.order_id,
        "kind": letter.kind,
        "attempts": letter.attempts,
        "error": letter.error,
        "dead_at": letter.dead_at.isoformat(),
    }


def dead_letter_lines(letter: DeadLetter) -> list[str]:
    """A message parked as dead, for people: its ids, when, after how many tries, why."""
    return [
        f"message {letter.id}",
        f"  order     {letter.order_id} ({letter.kind})",
        f"  dead      since {_local(letter.dead_at)}, after {letter.attempts} attempts",
        f"  error     {letter.error}",
    ]


Rows = list[tuple[str, str]]


def _state(order: WorkOrder, now: datetime | None) -> str:
    late = ", overdue" if now is not None and is_overdue(order, now) else ""
    return f"{order.state.value} (version {order.version}){late}"


def order_lines(
    order: WorkOrder,
    history: Sequence[Event],
    *,
    texts: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """The order as lines for people: the facts that apply to it so far, its supplements
    and claims read from its `history`.

    The customer's own words (the problem, supplements) only with `texts`, on one line each.
    Given `now`, the state says "overdue" once the completion date has passed (rule S3).
    """
    from komtet_works.domain import recorded  # noqa: PLC0415 - `quote` loads no events

    rows = [
        ("customer", order.customer_id),
        ("target", str(order.target)),
        ("state", _state(order, now)),
    ]
    if texts:
        rows.append(("problem", " ".join(order.problem.split())))
        supplements = recorded.supplements(history)
        rows.extend(("supplement", " ".join(text.split())) for text in supplements)
    rows += _money_rows(order.ledger) + _works_rows(
        order.works, order.ledger, recorded.claims(history)
    )
    width = max(len(label) for label, _ in rows)
    return [f"order {order.id}", *(f"  {label:<{width}}  {value}" for label, value in rows)]


def _money_rows(ledger: Ledger) -> Rows:
    rows: Rows = []
    quote = ledger.current_quote
    if quote is not None:
        rows.append(
            (
                "quote",
                f"{quote.total} for {quote.billable_hours} h, payable until "
                + _local(quote.payable_until),
            )
        )
    supplementary = ledger.supplementary_quote
    if supplementary is not None:  # rule H4
        rows.append(
            (
                "supplementary quote",
                f"{supplementary.total} for {supplementary.billable_hours} h more, payable until "
                + _local(supplementary.payable_until),
            )
        )
    if ledger.payments or ledger.refunds:
        rows.append(("money", f"paid {ledger.paid}, refunded {ledger.refunded}"))
    rows.extend(
        ("refund", f"payment {r.payment_id}: {r.amount} ({r.reference})") for r in ledger.refunds
    )
    return rows


def _works_rows(works: Works, ledger: Ledger, claims: Sequence[Claim]) -> Rows:
    rows: Rows = []
    quote = ledger.current_quote
    if works.spent_hours:
        estimated = f" of {quote.billable_hours} h estimated" if quote is not None else ""
        if len(ledger.paid_quotes) > 1:  # supplementary estimates paid (rule H5)
            estimated = f" of {ledger.paid_hours} h paid for"
        rows.append(("hours spent", f"{works.spent_hours} h{estimated}"))
    if works.due is not None:
        rows.append(("due", _local(works.due)))
    if works.backup is not None:
        verified = "verified" if works.backup.verified else "NOT verified"
        rows.append(("backup", f"{works.backup.reference}, {verified}"))
    if works.notice_sent_at is not None and works.claim_deadline is not None:
        rows.append(("notice sent", _local(works.notice_sent_at)))
        rows.append(("claims until", f"{_local(works.claim_deadline)} (inclusive)"))
    elif works.completed_at is not None:  # rule C1: no window until the notice goes out
        rows.append(("notice", "not sent"))
    rows.extend(
        ("claim", f"filed {_local(c.filed_at)}, {c.outcome.value if c.outcome else 'open'}")
        for c in claims
    )
    if works.restored is not None:
        rows.append(("backup restored", "yes" if works.restored else "NO"))
    if works.restore_withheld is not None:
        pending = " (staff decide: decide-restore)" if works.restore_pending_decision else ""
        rows.append(("restore withheld", f"{works.restore_withheld.value}{pending}"))
    return rows


def history_lines(history: Sequence[Event]) -> list[str]:
    """An order's events, one a line: when, who, what, the states before and after."""
    return [
        f"  {_local(e.at)}  {e.actor}: {type(e).__name__}, "
        f"{'-' if e.before is None else e.before.value} -> {e.after.value}"
        for e in history
    ]


def show(document: object, lines: list[str], *, as_json: bool) -> None:
    """Print `document` as one JSON document (`safe_json`), or `lines` for people, each
    made `safe`."""
    text = safe_json(document) if as_json else "\n".join(safe(line) for line in lines)
    sys.stdout.write(f"{text}\n")


def error_line(error: KomtetWorksError) -> str:
    """``komtet-works: error: <code>: <message>``, on one line whatever the message holds."""
    return safe(f"{PROG}: error: {error.code}: {' '.join(error.message.split())}")


def error_json(error: KomtetWorksError) -> dict[str, str]:
    """A refusal as the JSON output shows it."""
    return {"error": error.code, "message": error.message}


def quote_breakdown(quote: Quote) -> list[str]:
    """A quote as aligned lines of text, one figure a line, for people to read."""
    reason = quote.discount_reason or "none applies"
    rows = (
        ("hours as estimated", decimal_text(quote.hours)),
        ("billable hours", decimal_text(quote.billable_hours)),
        ("rate", f"{quote.rate} per hour"),
        ("gross", str(quote.gross)),
        ("discount", f"{quote.discount} ({reason})"),
        ("total", str(quote.total)),
        ("currency", quote.currency),
        ("tariff version", quote.tariff_version),
        ("payable until", _local(quote.payable_until)),
    )
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}}  {value}" for label, value in rows]
