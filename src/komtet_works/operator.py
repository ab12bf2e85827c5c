"""The operator's commands: every use case over a database, from a shell.

``komtet-works --db PATH_OR_DSN COMMAND ...`` opens the store (a SQLite file by default,
PostgreSQL for a ``postgresql://`` DSN), with the customer directory and the billing
ledger in the same database, backups as directory copies (``--sites-root``,
``--backup-root``, sealed with the key in ``--backup-key``) and messages as e-mail files
(``--mail-dir``).  Each command runs one use case and prints the order as it now is: lines
for people, or one JSON document with ``--json``.  Time is the system clock, or ``--now``
(an ISO 8601 instant with its offset) for scripted runs.  Refusals are the command line's
one-line errors.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs
import pendulum

from komtet_works.adapters.backup_store import provider_key
from komtet_works.adapters.clock import SystemClock
from komtet_works.adapters.filesystem import FilesystemBackups
from komtet_works.adapters.mail import MaildirNotifier
from komtet_works.adapters.memory import InMemoryBusinessCalendar, ManualClock
from komtet_works.adapters.sqlite import SqliteBilling, SqliteCustomerDirectory, SqliteWorkOrders
from komtet_works.cli import quote_breakdown
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import InvalidInput, KomtetWorksError
from komtet_works.domain.events import Actor
from komtet_works.domain.instants import require_aware
from komtet_works.domain.lifecycle import State
from komtet_works.domain.policy import Policy
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome
from komtet_works.ports import Billing, Clock, CustomerDirectory, WorkOrders
from komtet_works.relay import relay
from komtet_works.use_cases import CLOSING_JOB, WorkOrderService
from komtet_works.wire import decimal_text, quote_json

if TYPE_CHECKING:
    from komtet_works.cli import Subparsers

POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
#: The zone of the human output and of the business calendar: the provider's.
PROVIDER_ZONE: Final = Policy().provider_timezone


class DatabaseUnavailable(KomtetWorksError):
    """The database could not be opened or answered with an error of its own."""

    code = "database_unavailable"


# --- the wiring ------------------------------------------------------------------------------


class Store(WorkOrders, Protocol):
    """What the SQL stores offer beyond the ports: the closing job's query, and closing."""

    def claim_window_ended(self, now: datetime) -> Sequence[WorkOrder]: ...

    def close(self) -> None: ...


class Directory(CustomerDirectory, Protocol):
    """A customer directory the operator can add customers to."""

    def put(self, customer: Customer) -> None: ...

    def close(self) -> None: ...


class BillingLedger(Billing, Protocol):
    def close(self) -> None: ...


@attrs.frozen
class Session:
    """One command's world: the service over the database, and what it was built from."""

    store: Store
    customers: Directory
    notifier: MaildirNotifier
    clock: Clock
    service: WorkOrderService


def instant(text: str, field: str) -> pendulum.DateTime:
    """An ISO 8601 instant with its offset; a naive time or other text is `InvalidInput`."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} is not an ISO 8601 time: {text!r}", field=field) from None
    return require_aware(parsed, field=field)


@contextmanager
def session(arguments: argparse.Namespace) -> Iterator[Session]:
    """Open the database and wire the service; close everything after the command."""
    clock: Clock = (
        SystemClock() if arguments.now is None else ManualClock(instant(arguments.now, "now"))
    )
    store, customers, billing, failures = _open(arguments.db)
    try:
        notifier = MaildirNotifier(arguments.mail_dir, clock)
        service = WorkOrderService(
            orders=store,
            customers=customers,
            billing=billing,
            backups=FilesystemBackups(
                sites_root=arguments.sites_root,
                backup_root=arguments.backup_root,
                key=provider_key(arguments.backup_key),
            ),
            notifier=notifier,
            clock=clock,
            calendar=InMemoryBusinessCalendar(timezone=PROVIDER_ZONE),
        )
        yield Session(store, customers, notifier, clock, service)
    except failures as error:
        raise DatabaseUnavailable(_database_error(arguments.db, error)) from None
    finally:
        for adapter in (billing, customers, store):
            adapter.close()


def _database_error(db: str, error: BaseException) -> str:
    where = "PostgreSQL" if db.startswith(POSTGRES_SCHEMES) else db
    return f"{where}: {' '.join(str(error).split()) or type(error).__name__}"


def _open(db: str) -> tuple[Store, Directory, BillingLedger, tuple[type[Exception], ...]]:
    """The store, directory and ledger of database `db`, and the errors its driver raises."""
    if db.startswith(POSTGRES_SCHEMES):
        import psycopg  # noqa: PLC0415 - the optional extra 'postgres'

        from komtet_works.adapters import postgres  # noqa: PLC0415

        failures: tuple[type[Exception], ...] = (psycopg.Error,)
        opened: list[Any] = []
        try:
            opened.append(postgres.PostgresWorkOrders(db))
            opened.append(postgres.PostgresCustomerDirectory(db))
            opened.append(postgres.PostgresBilling(db))
        except psycopg.Error as error:
            for adapter in opened:
                adapter.close()
            raise DatabaseUnavailable(_database_error(db, error)) from None
        store, customers, billing = opened
        return store, customers, billing, failures
    try:
        return (
            SqliteWorkOrders(db),
            SqliteCustomerDirectory(db),
            SqliteBilling(db),
            (sqlite3.Error,),
        )
    except sqlite3.Error as error:
        raise DatabaseUnavailable(_database_error(db, error)) from None


# --- what the commands print ----------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_json(order: WorkOrder) -> dict[str, Any]:
    """Everything the order holds, money as decimal strings, instants as ISO 8601."""
    ledger, works = order.ledger, order.works
    backup = works.backup
    return {
        **summary_json(order),
        "problem": order.problem,
        "supplements": list(order.supplements),
        "current_quote": None if ledger.current_quote is None else quote_json(ledger.current_quote),
        "quotes": [quote_json(q) for q in ledger.quotes],
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
                for c in works.claims
            ],
            "restored": works.restored,
        },
        "events": [
            {
                "type": type(e).__name__,
                "at": _when(e.at),
                "actor": {"kind": e.actor.kind.value, "id": e.actor.id},
                "before": None if e.before is None else e.before.value,
                "after": e.after.value,
            }
            for e in order.events
        ],
    }


def summary_json(order: WorkOrder) -> dict[str, Any]:
    """An order in a list: who, what, where it stands."""
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "target": {"kind": order.target.kind.value, "name": order.target.name},
        "state": order.state.value,
        "version": order.version,
    }


def _local(instant: datetime) -> str:
    """An instant as people at the provider read it: ISO 8601 in the provider's zone."""
    return pendulum.instance(instant).in_timezone(PROVIDER_ZONE).isoformat()


def order_lines(order: WorkOrder, *, texts: bool = False) -> list[str]:
    """The order as lines for people: the facts that apply to it so far.

    The customer's own words (the problem, supplements) only with `texts`, on one line each.
    """
    ledger, works = order.ledger, order.works
    rows = [
        ("customer", order.customer_id),
        ("target", str(order.target)),
        ("state", f"{order.state.value} (version {order.version})"),
    ]
    if texts:
        rows.append(("problem", " ".join(order.problem.split())))
        rows.extend(("supplement", " ".join(text.split())) for text in order.supplements)
    quote = ledger.current_quote
    if quote is not None:
        rows.append(
            (
                "quote",
                f"{quote.total} for {quote.billable_hours} h, payable until "
                + _local(quote.payable_until),
            )
        )
    if ledger.payments or ledger.refunds:
        rows.append(("money", f"paid {ledger.paid}, refunded {ledger.refunded}"))
    rows.extend(
        ("refund", f"payment {r.payment_id}: {r.amount} ({r.reference})") for r in ledger.refunds
    )
    if works.due is not None:
        rows.append(("due", _local(works.due)))
    if works.backup is not None:
        verified = "verified" if works.backup.verified else "NOT verified"
        rows.append(("backup", f"{works.backup.reference}, {verified}"))
    if works.notice_sent_at is not None and works.claim_deadline is not None:
        rows.append(("notice sent", _local(works.notice_sent_at)))
        rows.append(("claims until", f"{_local(works.claim_deadline)} (inclusive)"))
    rows.extend(
        ("claim", f"filed {_local(c.filed_at)}, {c.outcome.value if c.outcome else 'open'}")
        for c in works.claims
    )
    if works.restored is not None:
        rows.append(("backup restored", "yes" if works.restored else "NO"))
    width = max(len(label) for label, _ in rows)
    return [f"order {order.id}", *(f"  {label:<{width}}  {value}" for label, value in rows)]


def history_lines(order: WorkOrder) -> list[str]:
    """The order's events, one a line: when, who, what, the states before and after."""
    return [
        f"  {_local(e.at)}  {e.actor}: {type(e).__name__}, "
        f"{'-' if e.before is None else e.before.value} -> {e.after.value}"
        for e in order.events
    ]


def _print(arguments: argparse.Namespace, document: object, lines: list[str]) -> None:
    text = (
        json.dumps(document, indent=2, ensure_ascii=False) if arguments.json else "\n".join(lines)
    )
    sys.stdout.write(f"{text}\n")


# --- the commands ----------------------------------------------------------------------------

Step = Callable[[WorkOrderService, argparse.Namespace], WorkOrder]


def _run_step(step: Step) -> Callable[[argparse.Namespace], int]:
    """A handler that runs `step` in a session and prints the order it leaves."""

    def handler(arguments: argparse.Namespace) -> int:
        with session(arguments) as opened:
            order = step(opened.service, arguments)
        lines = order_lines(order)
        if arguments.command == "estimate" and order.ledger.current_quote is not None:
            lines += [f"  {line}" for line in quote_breakdown(order.ledger.current_quote)]
        _print(arguments, order_json(order), lines)
        return 0

    return handler


def _request(service: WorkOrderService, a: argparse.Namespace) -> WorkOrder:
    return service.request(
        order_id=a.order,
        customer_id=a.customer,
        target=a.target,
        problem=a.problem,
        hosting_fault=a.hosting_fault,
    )


def _schedule(service: WorkOrderService, a: argparse.Namespace) -> WorkOrder:
    due = None if a.due is None else instant(a.due, "due")
    return service.schedule(a.order, staff_id=a.staff, due=due)


def _resolve(service: WorkOrderService, a: argparse.Namespace) -> WorkOrder:
    return service.resolve_claim(
        a.order, staff_id=a.staff, outcome=ClaimOutcome(a.outcome), note=a.note
    )


@attrs.frozen
class Option:
    """An option of a step command: ``--flag VALUE``, or a switch when `switch` is set."""

    flag: str
    help: str
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] | None = None
    switch: bool = False

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.switch:
            parser.add_argument(self.flag, action="store_true", help=self.help)
        else:
            parser.add_argument(
                self.flag,
                required=self.required,
                default=self.default,
                choices=self.choices,
                help=self.help,
            )


CUSTOMER: Final = Option("--customer", "the customer's id")
STAFF: Final = Option("--staff", "the staff member's id")


def _note(text: str) -> Option:
    return Option("--note", text, required=False, default="")


#: name: (help, options, the use case it runs).
STEPS: Final[dict[str, tuple[str, tuple[Option, ...], Step]]] = {
    "request": (
        "a customer requests works on one of their sites or servers",
        (
            CUSTOMER,
            Option("--target", "the site or server, by name"),
            Option("--problem", "the problem, in the customer's words"),
            Option(
                "--hosting-fault",
                "the problem is the hosting's own (free Technical Support)",
                switch=True,
            ),
        ),
        _request,
    ),
    "estimate": (
        "staff estimate the working hours; a quote and an invoice are issued",
        (STAFF, Option("--hours", "the hours, a decimal such as 1.5")),
        lambda s, a: s.estimate(a.order, staff_id=a.staff, hours=a.hours),
    ),
    "supplement": (
        "the customer adds to the request; the current quote is withdrawn",
        (CUSTOMER, Option("--text", "what the customer adds")),
        lambda s, a: s.supplement(a.order, customer_id=a.customer, text=a.text),
    ),
    "decline": (
        "the customer declines the quote",
        (CUSTOMER, _note("why, in their words")),
        lambda s, a: s.decline(a.order, customer_id=a.customer, note=a.note),
    ),
    "pay": (
        "the billing system reports a payment of the current quote",
        (
            Option("--payment", "the billing system's payment id"),
            Option("--amount", "the amount paid, a decimal such as 1400.00"),
            Option("--currency", "the currency paid in (default: the quote's)", required=False),
        ),
        lambda s, a: s.record_payment(
            a.order, payment_id=a.payment, amount=a.amount, currency=a.currency
        ),
    ),
    "schedule": (
        "staff announce the completion date (default: the business calendar's suggestion)",
        (STAFF, Option("--due", "the completion date, ISO 8601 with its offset", required=False)),
        _schedule,
    ),
    "start": (
        "works start: the target's directory is backed up and verified first",
        (STAFF,),
        lambda s, a: s.start(a.order, staff_id=a.staff),
    ),
    "change": (
        "record a change the customer made on the target",
        (CUSTOMER, _note("what changed")),
        lambda s, a: s.record_customer_change(a.order, customer_id=a.customer, note=a.note),
    ),
    "complete": (
        "the works are done: the completion notice goes out and the claim window opens",
        (STAFF,),
        lambda s, a: s.complete(a.order, staff_id=a.staff),
    ),
    "fail": (
        "the problem is not solved: every payment is refunded, the backup restored",
        (STAFF, _note("why")),
        lambda s, a: s.report_failure(a.order, staff_id=a.staff, note=a.note),
    ),
    "claim": (
        "the customer files a claim about completed works",
        (CUSTOMER, Option("--text", "the claim, in their words")),
        lambda s, a: s.file_claim(a.order, customer_id=a.customer, text=a.text),
    ),
    "resolve": (
        "staff decide a claim: refund (and restore), reject, or rework",
        (
            STAFF,
            Option("--outcome", "the decision", choices=tuple(o.value for o in ClaimOutcome)),
            _note("why"),
        ),
        _resolve,
    ),
    "close": (
        "staff close an order whose claim window has ended",
        (STAFF,),
        lambda s, a: s.close(a.order, by=Actor.staff(a.staff)),
    ),
    "cancel": (
        "the customer cancels after paying, before works start: a full refund",
        (CUSTOMER,),
        lambda s, a: s.cancel(a.order, customer_id=a.customer),
    ),
}


def run_show(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        order = opened.store.get(arguments.order)
    lines = order_lines(order, texts=True)
    _print(arguments, order_json(order), [*lines, "history", *history_lines(order)])
    return 0


def run_list(arguments: argparse.Namespace) -> int:
    states = [State(s) for s in arguments.state] or list(State)
    with session(arguments) as opened:
        orders = [
            o
            for o in opened.store.by_state(*states)
            if arguments.customer is None or o.customer_id == arguments.customer
        ]
    lines = [
        f"{o.id}  {o.customer_id}  {o.target}  {o.state.value}  (version {o.version})"
        for o in orders
    ]
    _print(arguments, [summary_json(o) for o in orders], lines or ["no orders"])
    return 0


def run_customer_add(arguments: argparse.Namespace) -> int:
    customer = Customer(
        arguments.customer_id,
        sites=frozenset(arguments.site),
        servers=frozenset(arguments.server),
        maintained_sites=frozenset(arguments.maintained),
    )
    with session(arguments) as opened:
        opened.customers.put(customer)
    document = {
        "id": customer.id,
        "sites": sorted(customer.sites),
        "servers": sorted(customer.servers),
        "maintained_sites": sorted(customer.maintained_sites),
    }
    lines = [
        f"customer {customer.id}",
        f"  sites       {', '.join(sorted(customer.sites)) or '-'}",
        f"  servers     {', '.join(sorted(customer.servers)) or '-'}",
        f"  maintained  {', '.join(sorted(customer.maintained_sites)) or '-'}",
    ]
    _print(arguments, document, lines)
    return 0


def run_relay(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        sent = relay(opened.store, opened.notifier)
    directory = str(arguments.mail_dir)
    _print(
        arguments,
        {"sent": sent, "mail_dir": directory},
        [f"sent {sent} message{'s' * (sent != 1)} to {directory}"],
    )
    return 0


def run_close_expired(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        due = opened.store.claim_window_ended(opened.clock.now())
        closed: list[str] = []
        skipped: dict[str, str] = {}
        for order in due:  # one order refused (changed meanwhile) does not stop the job
            try:
                closed.append(opened.service.close(order.id, by=CLOSING_JOB).id)
            except KomtetWorksError as error:
                skipped[order.id] = error.code
    _print(
        arguments,
        {"closed": closed, **({"skipped": skipped} if skipped else {})},
        [f"closed {order_id}" for order_id in closed]
        + [f"skipped {order_id}: {code}" for order_id, code in skipped.items()]
        or ["no order to close"],
    )
    return 0


def register(subparsers: Subparsers) -> None:
    """The operator's commands: one per use case, and show, list, relay, close-expired."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument("--now", metavar="ISO8601", help="the time to act at (default: now)")
    for flag, default, text in (
        ("--mail-dir", "outbox-mail", "where messages are written as .eml files"),
        ("--sites-root", "sites", "where each target's directory is, by its name"),
        ("--backup-root", "backups", "where backups are kept"),
        ("--backup-key", "backup.key", "the key sealing the backups, made on first use"),
    ):
        common.add_argument(
            flag,
            type=Path,
            default=Path(default),
            metavar="DIR",
            help=f"{text} (default ./{default})",
        )

    def command(name: str, text: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, parents=[common], help=text, description=text)
        parser.set_defaults(command=name)
        return parser

    customer = command("customer-add", "add a customer, or replace what is known of them")
    customer.add_argument("customer_id", metavar="CUSTOMER")
    for flag, text in (
        ("--site", "a site of theirs"),
        ("--server", "a server of theirs"),
        ("--maintained", "a site of theirs under Site Maintenance"),
    ):
        customer.add_argument(flag, action="append", default=[], help=f"{text} (repeatable)")
    customer.set_defaults(handler=run_customer_add)

    for name, (text, options, step) in STEPS.items():
        parser = command(name, text)
        parser.add_argument("order", metavar="ORDER", help="the work order's id")
        for option in options:
            option.add_to(parser)
        parser.set_defaults(handler=_run_step(step))

    show = command("show", "show an order: its facts and its history")
    show.add_argument("order", metavar="ORDER")
    show.set_defaults(handler=run_show)

    listing = command("list", "list orders, oldest first")
    listing.add_argument("--customer", help="only this customer's orders")
    listing.add_argument(
        "--state",
        action="append",
        default=[],
        choices=[s.value for s in State],
        help="(repeatable)",
    )
    listing.set_defaults(handler=run_list)

    command("relay", "send the outbox's pending messages into --mail-dir").set_defaults(
        handler=run_relay
    )
    command(
        "close-expired", "the closing job: close every completed order whose claim window ended"
    ).set_defaults(handler=run_close_expired)
