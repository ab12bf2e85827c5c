"""Personal data never reaches the logs, and `repr()` of domain objects masks it.

Known values are planted in every free text a customer or staff member writes (problem,
supplement, claim, notes) and in the customer's identity (an e-mail as the customer id, a
name in the site); whole lives of orders then run with every logger at DEBUG, on the
in-memory and the SQLite stores and through the scenario runner.  The library does log
(each committed step, each message sent, each retry on a locked database): the records
carry order and message ids, and no planted value.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import attrs
import pendulum
import pytest

from komtet_works.adapters.memory import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.adapters.sqlite import SqliteBilling, SqliteCustomerDirectory, SqliteWorkOrders
from komtet_works.domain import recorded
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import InvalidTransition, NotificationFailed
from komtet_works.domain.keys import operation_key
from komtet_works.domain.policy import Policy
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome
from komtet_works.ports import Billing, CustomerDirectory, Message, WorkOrders
from komtet_works.relay import relay
from komtet_works.scenarios.loading import parse_scenario
from komtet_works.scenarios.runner import run_scenario
from komtet_works.use_cases import WorkOrderService

#: The customer's identity: kept as ids in the domain, never written to a log.
EMAIL: Final = "ivan.petrov.1984@mail.example"
SITE: Final = "ivan-petrov-family.example"
#: What people write: masked by repr(), never written to a log.
TEXTS: Final = {
    "problem": "Ivan Petrov, +7 912 345-67-89, says the shop at Lenina 17 is down",
    "supplement": "passport 4510 987654; the admin password is Zx9!kettle",
    "change": "Ivan edited wp-config.php with Svetlana Orlova's help",
    "decline": "too dear for Ivan Petrov's pension",
    "failure": "could not reach Mrs Orlova at svetlana.orlova@mail.example",
    "claim": "card 4111 1111 1111 1111 charged; call Maria Sidorova on +7 903 111-22-33",
    "verdict": "Maria Sidorova's claim is unfounded",
    "rework": "Ivan Petrov says the cart is still empty",
}
PLANTED: Final = (EMAIL, SITE, *TEXTS.values())
MONDAY: Final = pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow")
CUSTOMER: Final = Customer(EMAIL, sites=frozenset({SITE}), servers=frozenset({"vps-17"}))
STAFF: Final = "staff-7"


class RecordsEverything(logging.Handler):
    """Keeps every record that reaches the root logger, rendered every way a log might be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.renderings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.renderings += [self.format(record), str(record.msg), repr(record.args)]


@pytest.fixture(name="logs")
def fixture_logs(caplog: pytest.LogCaptureFixture) -> Iterator[RecordsEverything]:
    """Every logger at DEBUG, its records kept by caplog and by a root handler of our own."""
    caplog.set_level(logging.DEBUG)
    handler = RecordsEverything()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def leaks(handler: RecordsEverything, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every planted value that some log record carries, in any rendering."""
    rendered = [*handler.renderings, caplog.text, *(r.getMessage() for r in caplog.records)]
    return [value for value in PLANTED if any(value in text for text in rendered)]


class DownNotifier(InMemoryNotifier):
    """The in-memory notifier that fails while `down`: messages wait in the outbox."""

    down = False

    def send(self, message: Message) -> datetime:
        if self.down:
            raise NotificationFailed("the mail server is down")
        return super().send(message)


@attrs.define
class Host:
    """The service on one store, and what it sent."""

    service: WorkOrderService
    orders: WorkOrders
    notifier: DownNotifier
    clock: ManualClock

    def at(self, hours: float) -> None:
        self.clock.set(MONDAY + timedelta(hours=hours))


@contextmanager
def hosted(store: str, directory: Path) -> Iterator[Host]:
    """The service over in-memory adapters, or over SQLite ones in a file under `directory`."""
    clock = ManualClock(MONDAY)
    notifier = DownNotifier(clock)
    if store == "memory":
        orders: WorkOrders = InMemoryWorkOrders()
        customers = InMemoryCustomerDirectory([CUSTOMER])
        service = _service(orders, customers, InMemoryBilling(), notifier, clock)
        yield Host(service, orders, notifier, clock)
        return
    path = directory / "orders.sqlite"
    with (
        SqliteWorkOrders(path, migrate=True) as sqlite_orders,
        SqliteCustomerDirectory(path, migrate=True) as sqlite_customers,
        SqliteBilling(path, migrate=True) as billing,
    ):
        sqlite_customers.put(CUSTOMER)
        service = _service(sqlite_orders, sqlite_customers, billing, notifier, clock)
        yield Host(service, sqlite_orders, notifier, clock)


def _service(
    orders: WorkOrders,
    customers: CustomerDirectory,
    billing: Billing,
    notifier: DownNotifier,
    clock: ManualClock,
) -> WorkOrderService:
    return WorkOrderService(
        orders=orders,
        customers=customers,
        billing=billing,
        backups=InMemoryBackups(),
        notifier=notifier,
        clock=clock,
        calendar=InMemoryBusinessCalendar(),
        # every decision of a claim, its reason text included, is planted (C5)
        policy=Policy(claims_may_be_rejected=True),
    )


def paid(host: Host, order_id: str, hour: float) -> WorkOrder:
    """A new order with the planted problem and supplement, estimated and paid."""
    service = host.service
    host.at(hour)
    service.request(order_id=order_id, customer_id=EMAIL, target=SITE, problem=TEXTS["problem"])
    service.supplement(order_id, customer_id=EMAIL, text=TEXTS["supplement"])
    host.at(hour + 1)
    order = service.estimate(order_id, staff_id=STAFF, hours="2")
    quote = order.ledger.current_quote
    assert quote is not None
    return service.record_payment(order_id, payment_id=f"{order_id}:pay", amount=quote.total.amount)


def started(host: Host, order_id: str, hour: float) -> WorkOrder:
    """`paid`, with a customer change noted, then scheduled and started."""
    paid(host, order_id, hour)
    service = host.service
    host.at(hour + 2)
    service.record_customer_change(order_id, customer_id=EMAIL, note=TEXTS["change"])
    service.schedule(order_id, staff_id=STAFF, due=MONDAY + timedelta(days=3))
    host.at(hour + 3)
    return service.start(order_id, staff_id=STAFF)


def whole_lives(host: Host) -> list[WorkOrder]:
    """Orders along every path, planted texts in each: claimed, reworked and closed (one
    message held while mail is down, a refused step); declined; failed; claim rejected;
    cancelled."""
    service = host.service
    started(host, "wo-claimed", 0)
    host.at(4)
    service.complete("wo-claimed", staff_id=STAFF)
    host.at(5)
    service.file_claim("wo-claimed", customer_id=EMAIL, text=TEXTS["claim"], remedy="rework")
    host.at(6)
    service.resolve_claim(
        "wo-claimed", staff_id=STAFF, outcome=ClaimOutcome.REWORK, note=TEXTS["rework"]
    )
    host.notifier.down = True
    service.complete("wo-claimed", staff_id=STAFF)
    host.notifier.down = False
    host.at(80)
    assert () == service.close_expired().closed  # its notice has not gone out: no window
    relay(host.orders, host.notifier, clock=host.clock, after_sent=service.record_notice_sent)
    host.at(80 + 73)
    assert ("wo-claimed",) == service.close_expired().closed
    with pytest.raises(InvalidTransition):
        service.supplement("wo-claimed", customer_id=EMAIL, text=TEXTS["supplement"])

    host.at(0)
    service.request(
        order_id="wo-declined", customer_id=EMAIL, target=SITE, problem=TEXTS["problem"]
    )
    host.at(1)
    service.estimate("wo-declined", staff_id=STAFF, hours="1")
    service.decline("wo-declined", customer_id=EMAIL, note=TEXTS["decline"])

    started(host, "wo-failed", 0)
    host.at(4)
    service.report_failure("wo-failed", staff_id=STAFF, note=TEXTS["failure"])

    started(host, "wo-rejected", 0)  # its customer change came before the start: claims stand
    host.at(4)
    service.complete("wo-rejected", staff_id=STAFF)
    service.file_claim("wo-rejected", customer_id=EMAIL, text=TEXTS["claim"])
    service.resolve_claim(
        "wo-rejected", staff_id=STAFF, outcome=ClaimOutcome.REJECT, note=TEXTS["verdict"]
    )

    paid(host, "wo-cancelled", 0)
    service.cancel("wo-cancelled", customer_id=EMAIL)
    relay(host.orders, host.notifier)
    names = ("wo-claimed", "wo-declined", "wo-failed", "wo-rejected", "wo-cancelled")
    return [host.orders.get(order_id) for order_id in names]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_whole_lives_of_orders_log_ids_and_no_personal_data(
    store: str,
    tmp_path: Path,
    logs: RecordsEverything,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every step logged with its order id, every message sent with its id; nothing planted."""
    with hosted(store, tmp_path) as host:
        orders = whole_lives(host)
    assert [] == leaks(logs, caplog)
    steps = [r.getMessage() for r in logs.records if r.levelno == logging.INFO]
    assert sum(order.version for order in orders) == len(steps)
    assert "order wo-claimed v1: OrderRequested" in steps
    sent = [
        r.getMessage()
        for r in logs.records
        if r.name == "komtet_works.relay" and r.getMessage().endswith(") sent")
    ]
    assert len(host.notifier.sent) == len(sent)
    failed = orders[2]
    message_id = operation_key("message", "wo-failed", failed.version, "refunded")
    assert f"message {message_id} (refunded) sent" in sent
    held = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    [message_held] = held
    assert message_held.startswith('message ["message","wo-claimed",')
    assert '"works_completed"] of order wo-claimed failed (attempt 1, NotificationFailed)' in (
        message_held
    )


def test_a_retry_on_a_locked_sqlite_file_logs_no_personal_data(
    tmp_path: Path, logs: RecordsEverything, caplog: pytest.LogCaptureFixture
) -> None:
    """A save that waits for another writer logs its retries; nothing planted."""
    path = tmp_path / "orders.sqlite"
    with SqliteCustomerDirectory(path, migrate=True) as customers:
        customers.put(CUSTOMER)
    order = WorkOrder.request(
        order_id="wo-locked", customer=CUSTOMER, target=SITE, problem=TEXTS["problem"], at=MONDAY
    )
    with (
        SqliteWorkOrders(path, busy_timeout=timedelta(0), migrate=True) as orders,
        closing(sqlite3.connect(path, isolation_level=None)) as other_writer,
    ):
        other_writer.execute("BEGIN IMMEDIATE")
        commit_on_retry = CommitOnRetry(other_writer)
        logging.getLogger().addHandler(commit_on_retry)
        try:
            orders.save(order, expected_version=0)
        finally:
            logging.getLogger().removeHandler(commit_on_retry)
        assert [] == list(orders.verify_replay("wo-locked"))
    retries = [r for r in logs.records if r.name == "komtet_works.adapters.sqlite"]
    assert ["database locked (attempt 1); retrying"] == [r.getMessage() for r in retries]
    assert [] == leaks(logs, caplog)


class CommitOnRetry(logging.Handler):
    """Ends the other writer's transaction when the store says it retries: no timing."""

    def __init__(self, other_writer: sqlite3.Connection) -> None:
        super().__init__(logging.DEBUG)
        self.other_writer = other_writer

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "komtet_works.adapters.sqlite" and self.other_writer.in_transaction:
            self.other_writer.execute("COMMIT")


def test_the_scenario_runner_logs_no_personal_data(
    logs: RecordsEverything, caplog: pytest.LogCaptureFixture
) -> None:
    """A scenario with planted texts runs, logs its steps, and logs nothing planted."""
    steps = [
        {"action": "request", "customer": EMAIL, "target": SITE, "problem": TEXTS["problem"]},
        {"action": "supplement", "by": EMAIL, "text": TEXTS["supplement"]},
        {"action": "estimate", "hours": "2"},
        {"action": "pay", "amount": "2000.00"},
        {"action": "schedule", "due": "2026-03-06T18:00:00+03:00"},
        {"action": "start"},
        {"action": "complete"},
        {"action": "claim", "by": EMAIL, "text": TEXTS["claim"]},
        {"action": "resolve_claim", "outcome": "reject"},
    ]
    scenario = parse_scenario(
        {
            "name": "planted personal data",
            "policy": {"claims_may_be_rejected": True},
            "customers": [{"id": EMAIL, "sites": [SITE]}],
            "steps": [
                {"at": (MONDAY + timedelta(hours=n)).isoformat(), "order": "o1", **step}
                for n, step in enumerate(steps)
            ],
        },
        source="planted",
    )
    outcomes = run_scenario(scenario)["steps"]
    assert isinstance(outcomes, list)
    assert [True] * len(steps) == [outcome["ok"] for outcome in outcomes]
    # one line per step, and one for the completion notice's send time
    assert len(steps) + 1 == sum(r.name == "komtet_works.use_cases" for r in logs.records)
    assert [] == leaks(logs, caplog)


def test_repr_of_every_domain_object_masks_what_people_wrote(tmp_path: Path) -> None:
    """Orders, their events, claims and messages: repr() shows ids, never the planted texts."""
    with hosted("sqlite", tmp_path) as host:
        orders = whole_lives(host)
        kept = {order.id: host.orders.history(order.id) for order in orders}
    events = [event for order in orders for event in kept[order.id]]
    claims = [claim for order in orders for claim in recorded.claims(kept[order.id])]
    messages = [message for _, message in host.notifier.sent]
    assert [TEXTS["claim"]] * 2 == [claim.text for claim in claims]  # planted: masking counts
    assert set(TEXTS.values()) == {
        text for order in orders for text in (order.problem, *recorded.supplements(kept[order.id]))
    } | {e.note for e in events if e.note} | {getattr(e, "text", "") for e in events} - {""}
    shown = [repr(thing) for thing in (*orders, *events, *claims, *messages)]
    assert [] == [text for text in TEXTS.values() if any(text in r for r in shown)]
    assert all("<redacted>" in repr(order) for order in orders)
