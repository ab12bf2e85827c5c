"""`komtet-works demo`: work orders walked through their lives, told in plain words.

The orders, the customer directory and the billing ledger live in a SQLite file made
for the run and removed after it; backups and messages are the in-memory adapters, and
time is a `ManualClock` the demo moves between steps, so the output is the same on every
run.  The first order goes the whole
way, from the request to the close, with a claim filed too late; the second fails and is
refunded and restored.  People and targets appear by id; no problem or claim text does.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import attrs
import pendulum

from komtet_works import bootstrap
from komtet_works.adapters.memory import InMemoryNotifier, ManualClock
from komtet_works.adapters.russian_calendar import RussianBusinessCalendar
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import ClaimWindowClosed
from komtet_works.domain.work_order import WorkOrder
from komtet_works.entrypoints.presenters import quote_breakdown
from komtet_works.use_cases import WorkOrderService

if TYPE_CHECKING:
    from komtet_works.entrypoints.cli import Subparsers

ZONE: Final = "Europe/Moscow"
#: A Monday morning, in the provider's time zone; the second order comes a week later.
START: Final = pendulum.datetime(2026, 3, 2, 10, tz=ZONE)
CUSTOMER: Final = Customer(
    "c-1",
    sites=frozenset({"shop.example"}),
    servers=frozenset({"vps-1"}),
    maintained_sites=frozenset({"shop.example"}),
)
STAFF: Final = "s-1"
#: The customer's own words: kept by the orders, never printed.
SITE_PROBLEM: Final = "the checkout page returns errors"
SERVER_PROBLEM: Final = "the mail queue is stuck"
LATE_CLAIM: Final = "the checkout page fails again"
_MARGIN: Final = " " * 25

T = TypeVar("T")


def register(subparsers: Subparsers) -> None:
    """The commands of this module: `demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="walk work orders through their lives, kept in a temporary SQLite file",
        description="Walk two work orders through their lives, kept in a temporary SQLite file.",
    )
    demo.set_defaults(handler=run)


def run(_: argparse.Namespace | None = None) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="komtet-works-demo-") as directory,
        Story.begin(Path(directory) / "demo.sqlite") as story,
    ):
        print("komtet-works demo: the Additional Works service, on a SQLite file")
        print(f"times are the provider's ({ZONE}), on a clock the demo moves")
        print(
            f"customer {CUSTOMER.id}: site shop.example (Site Maintenance active), "
            f"server vps-1; staff {STAFF}"
        )
        fixed_and_closed(story)
        failed_and_refunded(story)
    return 0


def known(value: T | None, what: str) -> T:
    """`value`, which the step just taken guarantees; None would be a bug in the library."""
    if value is None:  # pragma: no cover - each caller names the step that sets it
        raise AssertionError(f"{what} is missing")
    return value


def when(instant: pendulum.DateTime) -> str:
    return instant.in_timezone(ZONE).format("ddd YYYY-MM-DD HH:mm:ss")


@attrs.frozen
class Story:
    """The demo's world: the service over a SQLite file, and the clock it moves."""

    clock: ManualClock
    service: WorkOrderService
    notifier: InMemoryNotifier

    @classmethod
    @contextmanager
    def begin(cls, database: Path) -> Iterator[Story]:
        """The story over the SQLite file `database`, closed when the story ends."""
        clock = ManualClock(START)
        notifier = InMemoryNotifier(clock)
        with bootstrap.on_sqlite(
            database,
            migrate=True,
            clock=clock,
            notifier=notifier,
            calendar=RussianBusinessCalendar(timezone=ZONE),
        ) as wiring:
            wiring.customers.put(CUSTOMER)
            yield cls(clock, wiring.service, notifier)

    def step(self, after: timedelta, text: str) -> None:
        """Move the clock on by `after`, then tell what happens at that instant."""
        self.clock.advance(after)
        print(f"{when(self.clock.now())}  {text}")

    @staticmethod
    def more(text: str) -> None:
        print(f"{_MARGIN}{text}")

    def messages(self, order_id: str) -> str:
        return ", ".join(m.kind.value for _, m in self.notifier.sent if m.order_id == order_id)


def fixed_and_closed(story: Story) -> None:
    """Order o-1: request, quote, payment, schedule, works, notice, a late claim, close."""
    service = story.service
    order_id = "o-1"
    print(f"\norder {order_id}: works on site shop.example, done and closed")
    story.step(timedelta(0), f"customer {CUSTOMER.id} requests works on site shop.example")
    service.request(
        order_id=order_id,
        customer_id=CUSTOMER.id,
        target="shop.example",
        problem=SITE_PROBLEM,
    )
    story.step(timedelta(minutes=30), f"staff {STAFF} estimate 1.6 hours; the quote:")
    order = service.estimate(order_id, staff_id=STAFF, hours="1.6")
    quote = order.ledger.quotes[-1]
    for line in quote_breakdown(quote):
        story.more(f"  {line}")
    story.step(timedelta(minutes=30), f"billing reports payment p-1 of {quote.total}")
    order = service.record_payment(order_id, payment_id="p-1", amount=quote.total.amount)
    story.more(f"paid {order.ledger.paid}; the order is {order.state.value}")
    story.step(timedelta(minutes=5), "the business calendar suggests a completion date:")
    suggested = service.suggest_completion_date(order_id)
    story.more(f"{when(suggested)} (the staff queue plus {quote.billable_hours} h)")
    order = service.schedule(order_id, staff_id=STAFF, due=suggested)
    story.more(f"staff {STAFF} announce it to the customer; the order is {order.state.value}")
    story.step(timedelta(minutes=5), "works start; a backup of the site is taken first")
    order = service.start(order_id, staff_id=STAFF)
    backup = known(order.works.backup, "the backup of started works")
    verified = "verified" if backup.verified else "NOT verified"
    story.more(f"backup {backup.reference}, {verified}; the order is {order.state.value}")
    story.step(timedelta(minutes=90), "the works are done; the completion notice goes out")
    order = service.complete(order_id, staff_id=STAFF)
    _completion(story, order)
    _late_claim(story, order)
    report = service.close_expired()
    order = service.orders.get(order_id)
    story.more(
        f"the closing job closes {', '.join(report.closed)}; the order is {order.state.value}"
    )
    story.more(f"paid {order.ledger.paid}, refunded {order.ledger.refunded}")
    story.more(f"messages to the customer: {story.messages(order_id)}")


def _completion(story: Story, order: WorkOrder) -> None:
    sent_at = known(order.works.notice_sent_at, "the notice time of completed works")
    deadline = known(order.works.claim_deadline, "the claim deadline of completed works")
    story.more(f"notice sent at {when(sent_at)} by the provider's clock")
    story.more(f"claims accepted until {when(deadline)}, that second included")


def _late_claim(story: Story, order: WorkOrder) -> None:
    story.clock.set(known(order.works.claim_deadline, "the claim deadline of completed works"))
    story.step(timedelta(seconds=1), f"customer {CUSTOMER.id} files a claim, one second late")
    try:
        story.service.file_claim(order.id, customer_id=CUSTOMER.id, text=LATE_CLAIM)
    except ClaimWindowClosed as refusal:
        story.more(f"refused: {refusal.code}")
        story.more(refusal.message)
    else:  # pragma: no cover - the deadline is inclusive to the second, not beyond
        raise AssertionError("a claim after the deadline was accepted")


def failed_and_refunded(story: Story) -> None:
    """Order o-2: paid works on a server that do not succeed: refund, then restore."""
    service = story.service
    order_id = "o-2"
    print(f"\norder {order_id}: works on server vps-1 that do not succeed")
    story.clock.set(START.add(days=8))
    story.step(timedelta(0), f"customer {CUSTOMER.id} requests works on server vps-1")
    service.request(
        order_id=order_id,
        customer_id=CUSTOMER.id,
        target="vps-1",
        problem=SERVER_PROBLEM,
    )
    story.step(timedelta(minutes=30), f"staff {STAFF} estimate 3 hours")
    order = service.estimate(order_id, staff_id=STAFF, hours="3")
    quote = order.ledger.quotes[-1]
    story.more(f"total {quote.total}, discount {quote.discount} (servers get none)")
    story.step(timedelta(minutes=30), f"billing reports payment p-2 of {quote.total}")
    service.record_payment(order_id, payment_id="p-2", amount=quote.total.amount)
    order = service.schedule(order_id, staff_id=STAFF)
    due = known(order.works.due, "the due date of a scheduled order")
    story.more(f"staff {STAFF} announce the suggested date {when(due)}")
    story.step(timedelta(minutes=10), "works start")
    order = service.start(order_id, staff_id=STAFF)
    backup = known(order.works.backup, "the backup of started works")
    story.more(f"backup {backup.reference}; the order is {order.state.value}")
    story.step(timedelta(hours=2), f"staff {STAFF} report the problem not solved")
    order = service.report_failure(order_id, staff_id=STAFF)
    for refund in order.ledger.refunds:
        story.more(f"payment {refund.payment_id} refunded: {refund.amount} ({refund.reference})")
    restored = "restored" if order.works.restored else "NOT restored"
    story.more(f"start-of-works backup {restored}; the order is {order.state.value}")
