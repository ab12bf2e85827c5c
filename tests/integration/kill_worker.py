"""The process test_kill.py SIGKILLs: use cases and the relay on one store, until killed.

``python kill_worker.py KIND STORE ACKS DELIVERIES RUN SEED``: KIND is ``sqlite`` (STORE a
file) or ``postgres`` (STORE a DSN), the schema made and `CUSTOMERS` put there beforehand.
The worker prints ``ready`` once its store is open, then forever picks one of a few live
orders (new ones as others end) and takes a plausible next step through
`WorkOrderService`, each order on its own timeline.  After each step that returned, it
appends ``{"order", "version", "event"}`` to ACKS and fsyncs before going on: a line in
ACKS is an acknowledged commit.  Every few steps it runs the relay as a host's job would.

The notifier appends each message it sends to DELIVERIES as one JSON line, fsynced
before `send` returns; one send in five fails with `NotificationFailed` first, so the
outbox holds a backlog for the relay runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Final, TextIO

import pendulum

from komtet_works.adapters.codec import dumps_facts
from komtet_works.adapters.memory import InMemoryBackups, InMemoryBusinessCalendar, ManualClock
from komtet_works.adapters.postgres import (
    PostgresBilling,
    PostgresCustomerDirectory,
    PostgresWorkOrders,
)
from komtet_works.adapters.sqlite import SqliteBilling, SqliteCustomerDirectory, SqliteWorkOrders
from komtet_works.domain.customers import Customer
from komtet_works.domain.errors import ConcurrencyError, KomtetWorksError, NotificationFailed
from komtet_works.domain.lifecycle import TERMINAL, Action, State
from komtet_works.domain.policy import Policy
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome
from komtet_works.ports import Billing, CustomerDirectory, Message, Notifier
from komtet_works.relay import relay
from komtet_works.testing import DurableStore
from komtet_works.testing.orders import START
from komtet_works.use_cases import WorkOrderService

#: The hosting's customers: two sites each (one under Site Maintenance: the discount), a server.
CUSTOMERS: Final = tuple(
    Customer(
        f"cust-{n}",
        sites=frozenset({f"site-{n}.example", f"shop-{n}.example"}),
        servers=frozenset({f"vps-{n}"}),
        maintained_sites=frozenset({f"shop-{n}.example"}),
    )
    for n in range(1, 4)
)
#: How many orders are in the works at once.
LIVE_ORDERS: Final = 4
LIVE: Final = tuple(state for state in State if state not in TERMINAL)
#: How long the closing job waits after an order's last step: past any claim window.
CLOSING_PAUSE: Final = Policy().claim_window + timedelta(hours=1)

#: The next steps a live order takes, with their weights: mostly forward, sometimes not.
NEXT: Final[Mapping[State, Sequence[tuple[Action, int]]]] = {
    State.REQUESTED: ((Action.ESTIMATE, 8), (Action.SUPPLEMENT, 1), (Action.CUSTOMER_CHANGE, 1)),
    State.ESTIMATED: (
        (Action.PAY, 7),
        (Action.SUPPLEMENT, 1),
        (Action.DECLINE, 1),
        (Action.ESTIMATE, 1),
    ),
    State.PAID: ((Action.SCHEDULE, 8), (Action.CANCEL, 1)),
    State.SCHEDULED: ((Action.START, 8), (Action.SCHEDULE, 1), (Action.CANCEL, 1)),
    State.IN_PROGRESS: ((Action.COMPLETE, 6), (Action.FAIL, 2), (Action.CUSTOMER_CHANGE, 1)),
    State.COMPLETED: ((Action.CLOSE, 6), (Action.CLAIM, 3), (Action.CUSTOMER_CHANGE, 1)),
    State.CLAIMED: ((Action.ACCEPT_CLAIM, 1), (Action.REJECT_CLAIM, 1), (Action.REWORK, 1)),
    # a refund whose worker was killed between the intent and the settlement
    State.CANCELLING: ((Action.SETTLE_REFUND, 1), (Action.CANCEL, 1)),
    State.REFUNDING: ((Action.SETTLE_REFUND, 1), (Action.FAIL, 1)),
}


def delivery_line(message: Message) -> str:
    """How a delivered message is written down: one JSON object, its fields by name."""
    fields = {
        "id": message.id,
        "order_id": message.order_id,
        "customer_id": message.customer_id,
        "kind": message.kind.value,
        "body": dumps_facts(message.facts),  # as the outbox keeps them
    }
    return json.dumps(fields, ensure_ascii=False) + "\n"


def append_durably(out: TextIO, line: str) -> None:
    """`line` at the end of `out`, on disk before this returns."""
    out.write(line)
    out.flush()
    os.fsync(out.fileno())


class FileNotifier(Notifier):
    """Delivers a message by appending it to a file, fsynced; `failing` says when to fail."""

    def __init__(
        self, out: TextIO, clock: ManualClock, failing: Callable[[], bool] = lambda: False
    ) -> None:
        self._out = out
        self._clock = clock
        self._failing = failing

    def send(self, message: Message) -> pendulum.DateTime:
        if self._failing():
            raise NotificationFailed("the mail server is down")
        append_durably(self._out, delivery_line(message))
        return self._clock.now()


def open_store(kind: str, store: str) -> DurableStore:
    """The order store in the database `store` names (its schema brought up to date)."""
    return (
        PostgresWorkOrders(store, migrate=True)
        if kind == "postgres"
        else SqliteWorkOrders(store, migrate=True)
    )


def put_customers(kind: str, store: str) -> None:
    """`CUSTOMERS` in the database's customer directory."""
    directory = (
        PostgresCustomerDirectory(store, migrate=True)
        if kind == "postgres"
        else SqliteCustomerDirectory(store, migrate=True)
    )
    with directory:
        for customer in CUSTOMERS:
            directory.put(customer)


def _open_host(kind: str, store: str) -> tuple[DurableStore, CustomerDirectory, Billing]:
    if kind == "postgres":
        return (
            PostgresWorkOrders(store, migrate=True),
            PostgresCustomerDirectory(store, migrate=True),
            PostgresBilling(store, migrate=True),
        )
    return (
        SqliteWorkOrders(store, migrate=True),
        SqliteCustomerDirectory(store, migrate=True),
        SqliteBilling(store, migrate=True),
    )


class Worker:
    """Takes steps on live orders through the service, acknowledging each commit."""

    def __init__(
        self,
        *,
        store: DurableStore,
        service: WorkOrderService,
        clock: ManualClock,
        acks: TextIO,
        rng: random.Random,
        run: int,
    ) -> None:
        self.store = store
        self.service = service
        self.clock = clock
        self.acks = acks
        self.rng = rng
        self.run = run
        self.created = 0
        self.live = [order.id for order in store.by_state(*LIVE)]

    def step(self) -> None:
        """One step: a new order when few are live, else the next step of a live one."""
        if not self.live or (len(self.live) < LIVE_ORDERS and self.rng.random() < 0.5):
            self.created += 1
            customer = self.rng.choice(CUSTOMERS)
            self.clock.set(START)
            order = self.service.request(
                order_id=f"r{self.run}-{self.created}",
                customer_id=customer.id,
                target=self.rng.choice(sorted(customer.sites | customer.servers)),
                problem=f"problem {self.run}-{self.created}",
            )
        else:
            order_id = self.rng.choice(self.live)
            order = self.store.get(order_id)
            actions, weights = zip(*NEXT[order.state], strict=True)
            action = self.rng.choices(actions, weights)[0]
            pause = CLOSING_PAUSE if action is Action.CLOSE else timedelta(hours=1)
            self.clock.set(order.last_step_at + pause)
            try:
                order = self.take(order, action)
            except ConcurrencyError:
                raise
            except KomtetWorksError:
                return  # refused by the rules: nothing changed, nothing to acknowledge
        # the last event from the store: a use case may give back the order as stored (a
        # settlement completed, a retried step), which holds no new events
        last = self.store.history(order.id)[-1]
        record = {"order": order.id, "version": order.version, "event": type(last).__name__}
        append_durably(self.acks, json.dumps(record) + "\n")
        self.live = [o for o in self.live if o != order.id]
        if order.state not in TERMINAL:
            self.live.append(order.id)

    # one case per action of the lifecycle: the length is the table's
    def take(self, order: WorkOrder, action: Action) -> WorkOrder:  # noqa: C901, PLR0911, PLR0912
        """`action` on `order` through its use case."""
        service, customer = self.service, order.customer_id
        match action:
            case Action.ESTIMATE:
                hours = self.rng.choice(("0.5", "1", "2.25", "3"))
                return service.estimate(order.id, staff_id="staff-1", hours=hours)
            case Action.SUPPLEMENT:
                return service.supplement(order.id, customer_id=customer, text="one more thing")
            case Action.DECLINE:
                return service.decline(order.id, customer_id=customer, note="too dear")
            case Action.PAY:
                quote = order.ledger.current_quote
                amount = quote.total.amount if quote is not None else "1000.00"
                return service.record_payment(
                    order.id, payment_id=f"{order.id}:pay:{order.version}", amount=amount
                )
            case Action.SCHEDULE:
                due = self.clock.now() + timedelta(days=2)
                return service.schedule(order.id, staff_id="staff-1", due=due)
            case Action.CANCEL:
                return service.cancel(order.id, customer_id=customer)
            case Action.START:
                return service.start(order.id, staff_id="staff-1")
            case Action.CUSTOMER_CHANGE:
                return service.record_customer_change(order.id, customer_id=customer, note="edit")
            case Action.COMPLETE:
                return service.complete(order.id, staff_id="staff-1")
            case Action.FAIL:
                return service.report_failure(order.id, staff_id="staff-1", note="no luck")
            case Action.CLAIM:
                return service.file_claim(
                    order.id, customer_id=customer, text="broken again", remedy="rework"
                )
            case Action.ACCEPT_CLAIM | Action.REJECT_CLAIM | Action.REWORK:
                return service.resolve_claim(order.id, staff_id="staff-1", outcome=OUTCOME[action])
            case Action.SETTLE_REFUND:
                return service.settle_refunds(order.id)
            case _:
                return service.close(order.id, staff_id="staff-1")


OUTCOME: Final = {
    Action.ACCEPT_CLAIM: ClaimOutcome.REFUND,
    Action.REJECT_CLAIM: ClaimOutcome.REJECT,
    Action.REWORK: ClaimOutcome.REWORK,
}


def main(argv: Sequence[str]) -> None:
    kind, store_name, acks_path, deliveries_path, run, seed = argv
    rng = random.Random(f"{seed}:{run}")  # noqa: S311 - choices of steps, not secrets
    store, customers, billing = _open_host(kind, store_name)
    clock = ManualClock(START)
    with (
        Path(acks_path).open("a", encoding="utf-8") as acks,
        Path(deliveries_path).open("a", encoding="utf-8") as deliveries,
    ):
        notifier = FileNotifier(deliveries, clock, failing=lambda: rng.random() < 0.2)
        service = WorkOrderService(
            orders=store,
            customers=customers,
            billing=billing,
            backups=InMemoryBackups(),
            notifier=notifier,
            clock=clock,
            calendar=InMemoryBusinessCalendar(),
            policy=Policy(claims_may_be_rejected=True),  # every claim decision is reachable
        )
        worker = Worker(store=store, service=service, clock=clock, acks=acks, rng=rng, run=int(run))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            worker.step()
            if rng.random() < 0.2:
                with contextlib.suppress(NotificationFailed):
                    relay(store, notifier)


if __name__ == "__main__":
    main(sys.argv[1:])
