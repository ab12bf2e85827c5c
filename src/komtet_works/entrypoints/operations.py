"""The operator's commands: every use case over a database, from a shell.

``komtet-works --db PATH_OR_DSN COMMAND ...`` opens the store (a SQLite file by default,
PostgreSQL for a ``postgresql://`` DSN), with the customer directory and the billing
ledger in the same database, backups as directory copies (``--sites-root``,
``--backup-root``, sealed with the key in ``--backup-key``) and messages as e-mail files
(``--mail-dir``), or by SMTP with ``--smtp-host`` (or ``$KOMTET_WORKS_SMTP_HOST``; the
password only from ``$KOMTET_WORKS_SMTP_PASSWORD``).  Completion dates are suggested by the
Russian production calendar, in Moscow, 10:00-19:00.  Each command runs one use case and
prints the order as it now is: lines for people, or one JSON document with ``--json``.
Time is the system clock, or ``--now`` (an ISO 8601 instant with its offset) for scripted
runs.  Refusals are the command line's one-line errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from komtet_works import bootstrap
from komtet_works.adapters.backup_store import provider_key
from komtet_works.adapters.clock import SystemClock
from komtet_works.adapters.filesystem import FilesystemBackups
from komtet_works.adapters.mail import SmtpSecurity
from komtet_works.adapters.memory import ManualClock
from komtet_works.adapters.sql.stores import SqlBilling
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.instants import require_aware
from komtet_works.domain.lifecycle import State
from komtet_works.domain.scheduling import is_overdue
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome, ClaimRemedy, Urgency, WithdrawalReason
from komtet_works.entrypoints import config
from komtet_works.entrypoints.ledger import ReceivingLedger, paid_in_billing
from komtet_works.entrypoints.presenters import (
    conflict_json,
    dead_letter_json,
    dead_letter_lines,
    history_lines,
    order_json,
    order_lines,
    overdue_line,
    quote_breakdown,
    reported_json,
    show,
    summary_json,
    summary_line,
)
from komtet_works.ports import Clock, Notifier
from komtet_works.reconciliation import reconcile
from komtet_works.relay import relay, relay_billing
from komtet_works.use_cases import WorkOrderService

if TYPE_CHECKING:
    from komtet_works.entrypoints.cli import Subparsers


@attrs.frozen
class Session:
    """One command's world: the service wired over the database, its billing ledger (the
    database's own) and where mail goes."""

    wiring: bootstrap.Wiring
    ledger: ReceivingLedger
    notifier: Notifier

    @property
    def service(self) -> WorkOrderService:
        return self.wiring.service


def instant(text: str, field: str) -> pendulum.DateTime:
    """An ISO 8601 instant with its offset; a naive time, other text or one out of range
    (year 1 with a positive offset, year 9999 with a negative one) is `InvalidInput`."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} is not an ISO 8601 time: {text!r}", field=field) from None
    return require_aware(parsed, field=field)


@contextmanager
def session(arguments: argparse.Namespace) -> Iterator[Session]:
    """Open the database and wire the service (`komtet_works.bootstrap`); close it after."""
    config.resolve(arguments)
    clock: Clock = (
        SystemClock() if arguments.now is None else ManualClock(instant(arguments.now, "now"))
    )
    notifier = config.notifier(arguments, clock)
    backups = FilesystemBackups(
        sites_root=arguments.sites_root,
        backup_root=arguments.backup_root,
        key=provider_key(arguments.backup_key),
    )
    with bootstrap.on_database(
        arguments.db,
        migrate=True,
        clock=clock,
        notifier=notifier,
        backups=backups,
        calendar=config.calendar(arguments),
        policy=config.policy(arguments),
        capacity=arguments.staff_capacity,
    ) as wiring:
        if not isinstance(wiring.billing, SqlBilling):  # pragma: no cover - on_database's
            raise TypeError("the operator's database keeps its own billing ledger")
        yield Session(wiring, wiring.billing, notifier)


def _destination(arguments: argparse.Namespace) -> dict[str, str]:
    """Where the messages go: the SMTP server, or the mail directory."""
    if arguments.smtp_host:
        return {"smtp_host": arguments.smtp_host}
    return {"mail_dir": str(arguments.mail_dir)}


# --- the commands ----------------------------------------------------------------------------

Step = Callable[[Session, argparse.Namespace], WorkOrder]


def _run_step(step: Step) -> Callable[[argparse.Namespace], int]:
    """A handler that runs `step` in a session and prints the order it leaves."""

    def handler(arguments: argparse.Namespace) -> int:
        with session(arguments) as opened:
            order = step(opened, arguments)
            history = opened.wiring.orders.history(order.id)
        lines = order_lines(order, history)
        if arguments.command == "estimate" and order.ledger.quotes:  # the one just issued
            lines += [f"  {line}" for line in quote_breakdown(order.ledger.quotes[-1])]
        _show(arguments, order_json(order, history), lines)
        return 0

    return handler


def _request(opened: Session, a: argparse.Namespace) -> WorkOrder:
    return opened.service.request(
        order_id=a.order,
        customer_id=a.customer,
        target=a.target,
        problem=a.problem,
        hosting_fault=a.hosting_fault,
        target_kind=a.target_kind,
    )


def _schedule(opened: Session, a: argparse.Namespace) -> WorkOrder:
    due = None if a.due is None else instant(a.due, "due")
    return opened.service.schedule(
        a.order, staff_id=a.staff, due=due, urgency=a.urgency, reason=a.reason or ""
    )


def _resolve(opened: Session, a: argparse.Namespace) -> WorkOrder:
    return opened.service.resolve_claim(
        a.order, staff_id=a.staff, outcome=ClaimOutcome(a.outcome), note=a.note
    )


def _pay(opened: Session, a: argparse.Namespace) -> WorkOrder:
    """The customer pays in the database's billing ledger, and billing reports it."""
    paid_in_billing(
        opened.ledger,
        opened.wiring.orders,
        order_id=a.order,
        payment_id=a.payment,
        amount=a.amount,
        currency=a.currency,
    )
    return opened.service.record_payment(
        a.order, payment_id=a.payment, amount=a.amount, currency=a.currency
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
            Option(
                "--target-kind",
                "site or server, where the customer has both of that name",
                required=False,
                choices=("site", "server"),
            ),
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
        lambda o, a: o.service.estimate(a.order, staff_id=a.staff, hours=a.hours),
    ),
    "supplement": (
        "the customer adds to the request; the current quote is withdrawn",
        (CUSTOMER, Option("--text", "what the customer adds")),
        lambda o, a: o.service.supplement(a.order, customer_id=a.customer, text=a.text),
    ),
    "decline": (
        "the customer declines the quote",
        (CUSTOMER, _note("why, in their words")),
        lambda o, a: o.service.decline(a.order, customer_id=a.customer, note=a.note),
    ),
    "pay": (
        "the customer pays in billing, and billing reports the payment for the order",
        (
            Option("--payment", "the billing system's payment id"),
            Option("--amount", "the amount paid, a decimal such as 1400.00"),
            Option("--currency", "the currency paid in (default: the quote's)", required=False),
        ),
        _pay,
    ),
    "schedule": (
        "staff announce or revise the completion date (default: the calendar's suggestion)",
        (
            STAFF,
            Option("--due", "the completion date, ISO 8601 with its offset", required=False),
            Option(
                "--urgency",
                "how urgent the order is (default: as it was, normal at first)",
                required=False,
                choices=tuple(u.value for u in Urgency),
            ),
            Option("--reason", "why the date changes (required once works run)", required=False),
        ),
        _schedule,
    ),
    "start": (
        "works start: the target's directory is backed up and verified first",
        (STAFF,),
        lambda o, a: o.service.start(a.order, staff_id=a.staff),
    ),
    "change": (
        "record a change the customer made on the target",
        (CUSTOMER, _note("what changed")),
        lambda o, a: o.service.record_customer_change(a.order, customer_id=a.customer, note=a.note),
    ),
    "log-hours": (
        "staff log hours spent on the works while they run",
        (
            STAFF,
            Option("--hours", "the hours spent, a decimal such as 1.5"),
            _note("what was done"),
        ),
        lambda o, a: o.service.log_hours(a.order, staff_id=a.staff, hours=a.hours, note=a.note),
    ),
    "complete": (
        "the works are done: the completion notice goes out and the claim window opens",
        (STAFF,),
        lambda o, a: o.service.complete(a.order, staff_id=a.staff),
    ),
    "fail": (
        "the problem is not solved: every payment is refunded, the backup restored",
        (STAFF, _note("why")),
        lambda o, a: o.service.report_failure(a.order, staff_id=a.staff, note=a.note),
    ),
    "claim": (
        "the customer files a claim about completed works",
        (
            CUSTOMER,
            Option("--text", "the claim, in their words"),
            Option(
                "--remedy",
                "what the customer asks for: refund (default) or rework",
                required=False,
                default=ClaimRemedy.REFUND.value,
                choices=tuple(r.value for r in ClaimRemedy),
            ),
        ),
        lambda o, a: o.service.file_claim(
            a.order, customer_id=a.customer, text=a.text, remedy=a.remedy
        ),
    ),
    "resolve": (
        "staff decide a claim: refund (and restore), rework (if asked for) or reject (if allowed)",
        (
            STAFF,
            Option("--outcome", "the decision", choices=tuple(o.value for o in ClaimOutcome)),
            _note("why"),
        ),
        _resolve,
    ),
    "decide-restore": (
        "staff decide a restore withheld for later works on the target: anyway, or not",
        (STAFF, Option("--restore", "the decision", choices=("anyway", "no")), _note("why")),
        lambda o, a: o.service.decide_restore(
            a.order, staff_id=a.staff, restore=a.restore == "anyway", note=a.note
        ),
    ),
    "close": (
        "staff close an order whose claim window has ended",
        (STAFF,),
        lambda o, a: o.service.close(a.order, staff_id=a.staff),
    ),
    "cancel": (
        "the customer cancels after paying, before works start: a full refund",
        (CUSTOMER,),
        lambda o, a: o.service.cancel(a.order, customer_id=a.customer),
    ),
    "withdraw": (
        "staff withdraw an order before the works start: every payment is refunded",
        (
            STAFF,
            Option("--reason", "why", choices=tuple(r.value for r in WithdrawalReason)),
            _note("more about why"),
        ),
        lambda o, a: o.service.withdraw(a.order, staff_id=a.staff, reason=a.reason, note=a.note),
    ),
}


def run_show(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        order = opened.wiring.orders.get(arguments.order)
        now = opened.wiring.clock.now()
        history = opened.wiring.orders.history(order.id)
    lines = order_lines(order, history, texts=True, now=now)
    document = {**order_json(order, history), "overdue": is_overdue(order, now)}
    _show(arguments, document, [*lines, "history", *history_lines(history)])
    return 0


def run_list(arguments: argparse.Namespace) -> int:
    states = [State(s) for s in arguments.state] or list(State)
    with session(arguments) as opened:
        orders = [
            o
            for o in opened.wiring.orders.by_state(*states)
            if arguments.customer is None or o.customer_id == arguments.customer
        ]
        now = opened.wiring.clock.now()
    lines = [summary_line(o, now=now) for o in orders]
    _show(arguments, [summary_json(o, now=now) for o in orders], lines or ["no orders"])
    return 0


def run_customer_add(arguments: argparse.Namespace) -> int:
    customer = Customer(
        arguments.customer_id,
        sites=frozenset(arguments.site),
        servers=frozenset(arguments.server),
        maintained_sites=frozenset(arguments.maintained),
    )
    with session(arguments) as opened:
        backups = opened.wiring.backups
        if not isinstance(backups, FilesystemBackups):  # pragma: no cover - session's
            raise TypeError("the operator's backups are directory copies")
        # the names first: one that would escape the sites root adds no customer
        places = [backups.directory(name) for name in sorted(customer.sites | customer.servers)]
        opened.wiring.customers.put(customer)
    for place in places:  # the hosting's own step: a new site or server gets its directory
        place.mkdir(parents=True, exist_ok=True)
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
    _show(arguments, document, lines)
    return 0


def run_relay(arguments: argparse.Namespace) -> int:
    """Both outboxes: the billing commands waiting (invoices, voids, refunds), the messages."""
    with session(arguments) as opened:
        done = relay_billing(opened.wiring.orders, opened.ledger)
        sent = relay(
            opened.wiring.orders,
            opened.notifier,
            clock=opened.wiring.clock,
            after_sent=opened.wiring.service.record_notice_sent,
        )
        dead = len(opened.wiring.orders.dead_letters())
    destination = _destination(arguments)
    lines = [
        f"carried out {done} billing command{'s' * (done != 1)}",
        f"sent {sent} message{'s' * (sent != 1)} to {next(iter(destination.values()))}",
    ]
    if dead:
        lines.append(f"{dead} dead message{'s' * (dead != 1)}: see dead-letters")
    _show(arguments, {"sent": sent, **destination, "dead": dead, "billing_commands": done}, lines)
    return 0


def run_dead_letters(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        dead = opened.wiring.orders.dead_letters(arguments.limit)
    _show(
        arguments,
        [dead_letter_json(letter) for letter in dead],
        [line for letter in dead for line in dead_letter_lines(letter)] or ["no dead message"],
    )
    return 0


def run_requeue(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        orders = opened.wiring.orders
        wanted = arguments.message or [d.id for d in orders.dead_letters(arguments.limit)]
        requeued = list(orders.requeue(wanted))
    left = [i for i in wanted if i not in requeued]
    _show(
        arguments,
        {"requeued": requeued, "not_dead": left},
        [f"requeued {i}" for i in requeued] + [f"not dead, left as it is: {i}" for i in left]
        or ["no dead message"],
    )
    return 0


def run_void_lapsed(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        voided = opened.service.void_lapsed_invoices()
    _show(arguments, {"voided": voided}, [f"voided {voided} lapsed invoice(s)"])
    return 0


def run_payments(arguments: argparse.Namespace) -> int:
    """What staff must look at: payments held unapplied, and conflicting reports."""
    with session(arguments) as opened:
        held = [p for p in opened.wiring.orders.payments() if not p.applied]
        conflicts = list(opened.wiring.orders.conflicts())
    document = {
        "unapplied": [reported_json(p) for p in held],
        "conflicts": [conflict_json(c) for c in conflicts],
    }
    lines = [
        f"unapplied {p.id}  order {p.order_id}  {p.payment.amount}  {p.refused}  "
        + (f"refunded ({p.refund_reference})" if p.refund_reference else "held")
        for p in held
    ] + [
        f"conflict  {c.payment.id}  order {c.order_id}  {c.payment.amount}  {c.code}"
        for c in conflicts
    ]
    _show(arguments, document, lines or ["nothing to look at"])
    return 0


def run_reconcile(arguments: argparse.Namespace) -> int:
    """Rule K5: the store against its billing ledger; exit 1 when they differ."""
    with session(arguments) as opened:
        differences = reconcile(opened.wiring.orders, opened.ledger)
    _show(
        arguments,
        {"differences": [{"code": d.code, "detail": d.detail} for d in differences]},
        [str(d) for d in differences] or ["the store and the ledger agree"],
    )
    return 1 if differences else 0


def run_close_expired(arguments: argparse.Namespace) -> int:
    with session(arguments) as opened:
        report = opened.service.close_expired()
    refused = dict(report.refused)
    show(
        {"closed": list(report.closed), **({"skipped": refused} if refused else {})},
        [f"closed {order_id}" for order_id in report.closed]
        + [f"skipped {order_id}: {code}" for order_id, code in refused.items()]
        or ["no order to close"],
        as_json=arguments.json,
    )
    return 0


def run_overdue(arguments: argparse.Namespace) -> int:
    """The overdue job (rule S3): one line per order past its completion date; exit 1 when
    any is, so that cron or a monitor can tell."""
    with session(arguments) as opened:
        report = opened.service.report_overdue()
    document = {
        "at": report.at.isoformat(),
        "overdue": [
            {"id": o.order_id, "state": o.state.value, "due": o.due.isoformat()}
            for o in report.orders
        ],
    }
    lines = [overdue_line(o.order_id, o.state, o.due) for o in report.orders]
    show(document, lines or ["no order is overdue"], as_json=arguments.json)
    return 1 if report.orders else 0


def _show(arguments: argparse.Namespace, document: object, lines: list[str]) -> None:
    show(document, lines, as_json=arguments.json)


def register(subparsers: Subparsers) -> None:
    """The operator's commands: one per use case, and show, list, relay, dead-letters,
    requeue, close-expired."""
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
            default=None,  # config.resolve: $KOMTET_WORKS_..., the file, then the default
            metavar="DIR",
            help=f"{text} (default ./{default})",
        )

    smtp = common.add_argument_group("mail by SMTP (else into --mail-dir)")
    for name, text, kind in (
        ("host", "the SMTP server; set, mail goes there instead of --mail-dir", str),
        ("port", "its port (default 587)", int),
        ("security", "ssl, starttls or none (default starttls)", SmtpSecurity),
        ("user", f"the login; its password only from ${config.PASSWORD_VARIABLE}", str),
    ):
        smtp.add_argument(
            f"--smtp-{name}",
            type=kind,
            default=None,  # config.resolve: $KOMTET_WORKS_SMTP_..., the file, then the default
            help=f"{text} (or $KOMTET_WORKS_SMTP_{name.upper()})",
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

    command("relay", "carry out the billing commands waiting, send the due messages").set_defaults(
        handler=run_relay
    )
    command(
        "void-lapsed", "the job voiding the invoices of quotes past their payable-until"
    ).set_defaults(handler=run_void_lapsed)
    command("payments", "list payments held unapplied and conflicting reports").set_defaults(
        handler=run_payments
    )
    dead = command("dead-letters", "list the messages parked as dead, with their last error")
    dead.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    dead.set_defaults(handler=run_dead_letters)
    requeue = command("requeue", "put dead messages back in the queue for the next relay")
    requeue.add_argument(
        "message", nargs="*", metavar="MESSAGE", help="the message ids (default: every dead one)"
    )
    requeue.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    requeue.set_defaults(handler=run_requeue)
    command(
        "reconcile", "check the store against its billing ledger; exit 1 on a difference"
    ).set_defaults(handler=run_reconcile)
    command(
        "close-expired", "the closing job: close every completed order whose claim window ended"
    ).set_defaults(handler=run_close_expired)
    command(
        "overdue", "list the orders past their completion date; exit 1 when there is any"
    ).set_defaults(handler=run_overdue)
