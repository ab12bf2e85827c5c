"""Running a scenario through the real use cases, on the in-memory adapters.

Each step sets a `ManualClock` to the step's `at` and calls one `WorkOrderService` use
case.  Staff steps act as one staff member (`STAFF`); payments come from the billing
system.  A step the rules refuse is reported with its error code and changes nothing; the
orders' summaries at the end are read from orders rebuilt from their events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import attrs

from komtet_works import bootstrap
from komtet_works.adapters.memory import (
    InMemoryBackups,
    InMemoryBilling,
    InMemoryBusinessCalendar,
    InMemoryCustomerDirectory,
    InMemoryNotifier,
    InMemoryWorkOrders,
    ManualClock,
)
from komtet_works.domain.errors import (
    KomtetWorksError,
    UnknownCustomer,
)
from komtet_works.domain.events import CompletionNoticeSent, Event, WorksStarted
from komtet_works.domain.keys import operation_key
from komtet_works.domain.lifecycle import State
from komtet_works.domain.money import Money
from komtet_works.domain.work_order import WorkOrder
from komtet_works.domain.works import ClaimOutcome, ClaimRemedy
from komtet_works.entrypoints.ledger import paid_in_billing
from komtet_works.entrypoints.presenters import decimal_text, quote_json
from komtet_works.reconciliation import reconcile
from komtet_works.relay import relay
from komtet_works.scenarios.loading import Scenario, Step, load_scenario
from komtet_works.use_cases import WorkOrderService

#: The staff member every staff step acts as.
STAFF: Final = "staff"

Json = dict[str, object]


class ScenarioBackups(InMemoryBackups):
    """In-memory backups that can also take a snapshot that fails verification."""

    def __init__(self) -> None:
        super().__init__()
        self.unverified = False

    def verify(self, reference: str) -> bool:
        return not self.unverified and super().verify(reference)


@attrs.define
class _World:
    """The adapters and the service one scenario runs on."""

    clock: ManualClock
    orders: InMemoryWorkOrders
    customers: InMemoryCustomerDirectory
    backups: ScenarioBackups
    billing: InMemoryBilling
    notifier: InMemoryNotifier
    service: WorkOrderService
    #: ids of the orders created, in the order they were created
    created: list[str] = attrs.field(factory=list)
    #: per order, how many payments without a `payment` id the rules refused
    refused_payments: dict[str, int] = attrs.field(factory=dict)

    def payment_id(self, step: Step) -> str:
        """The step's `payment`, or the order's default payment id.

        The default is one id per order, so a repeated pay step is one payment (rule I3),
        renewed after a payment the rules refused: that money went back (rule K2), and
        the customer's next payment is another one.
        """
        given = step.fields.get("payment")
        if isinstance(given, str):
            return given
        return operation_key("payment", step.order, self.refused_payments.get(step.order, 0))

    @classmethod
    def of(cls, scenario: Scenario) -> _World:
        clock = ManualClock(scenario.steps[0].at)
        orders = InMemoryWorkOrders()
        customers = InMemoryCustomerDirectory(scenario.customers)
        backups = ScenarioBackups()
        billing = InMemoryBilling()
        notifier = InMemoryNotifier(clock)
        wiring = bootstrap.in_memory(
            directory=customers,
            orders=orders,
            billing=billing,
            backups=backups,
            notifier=notifier,
            clock=clock,
            calendar=InMemoryBusinessCalendar(),
            tariff=scenario.tariff,
            policy=scenario.policy,
            capacity=scenario.capacity,
        )
        return cls(clock, orders, customers, backups, billing, notifier, wiring.service)

    @contextmanager
    def faults(self, step: Step) -> Iterator[None]:
        """The backup system and the mail misbehave as the step says, for this step only."""
        backup, restore = step.fields.get("backup"), step.fields.get("restore")
        self.backups.failing_snapshots = backup == "failed"
        self.backups.unverified = backup == "unverified"
        self.backups.failing_restores = restore == "failed"
        self.notifier.failing = step.fields.get("mail") == "down"
        try:
            yield
        finally:
            self.backups.failing_snapshots = False
            self.backups.unverified = False
            self.backups.failing_restores = False
            self.notifier.failing = False

    def take(self, step: Step) -> Json:
        """Run one step at its time; the step's result as the contract shows it."""
        self.clock.set(step.at)
        try:
            with self.faults(step):
                order, shown = ACTIONS[step.action](self, step)
        except KomtetWorksError as error:
            return {"ok": False, "order": step.order, "error": error.code, "message": error.message}
        return {"ok": True, "order": step.order, "state": order.state.value, **shown}

    def summaries(self) -> dict[str, Json]:
        return {order_id: summary(self.orders.history(order_id)) for order_id in self.created}

    def payments(self) -> dict[str, Json]:
        """Every payment the billing system reported, as the intake keeps it (rule K2), with
        what billing refunded of it in all (in parts: rule H2)."""
        refunds = self.billing.refunds()
        return {
            report.id: {
                "order": report.order_id,
                "amount": decimal_text(report.payment.amount.amount),
                "currency": report.payment.amount.currency,
                "applied": report.applied,
                "refunded": decimal_text(
                    sum(
                        (r.amount for r in refunds if r.payment_id == report.id),
                        Money.zero(report.payment.amount.currency),
                    ).amount
                ),
            }
            for report in self.orders.payments()
        }


def summary(history: Sequence[Event]) -> Json:
    """What the contract shows of an order, read from the order its events rebuild."""
    rebuilt = WorkOrder.replay(history)
    return {
        "state": rebuilt.state.value,
        "paid": decimal_text(rebuilt.ledger.paid.amount),
        "refunded": decimal_text(rebuilt.ledger.refunded.amount),
        "backups": sum(isinstance(event, WorksStarted) for event in history),
        "restored": rebuilt.works.restored,
        "spent_hours": decimal_text(rebuilt.works.spent_hours),
        # the record of a notice's delivery is no step anyone took: the history is the same
        # whether the mail was up or down (contract version 1's results stand)
        "history": [
            event.after.value for event in history if not isinstance(event, CompletionNoticeSent)
        ],
    }


def run_scenario(scenario: Scenario) -> Json:
    """The result of one scenario: each step's outcome, then each order's summary."""
    world = _World.of(scenario)
    steps = [world.take(step) for step in scenario.steps]
    return {
        "name": scenario.name,
        "steps": steps,
        "orders": world.summaries(),
        "payments": world.payments(),
        "reconciliation": [str(d) for d in reconcile(world.orders, world.billing)],
    }


def run_files(paths: Iterable[Path]) -> Json:
    """The result document of scenario files; `ScenarioFileError` if one is not valid."""
    scenarios = [load_scenario(path) for path in paths]
    return {"scenarios": [run_scenario(scenario) for scenario in scenarios]}


# --- the actions --------------------------------------------------------------------------

Shown = tuple[WorkOrder, Json]


def _text(step: Step, field: str) -> str:
    """A field the schema has checked is text."""
    return str(step.fields[field])


def _request(world: _World, step: Step) -> Shown:
    order = world.service.request(
        order_id=step.order,
        customer_id=_text(step, "customer"),
        target=_text(step, "target"),
        problem=_text(step, "problem"),
        hosting_fault=step.fields.get("hosting_fault") is True,
        target_kind=step.fields.get("target_kind"),
    )
    world.created.append(order.id)
    return order, {}


def _supplement(world: _World, step: Step) -> Shown:
    by, text = _text(step, "by"), _text(step, "text")
    return world.service.supplement(step.order, customer_id=by, text=text), {}


def _estimate(world: _World, step: Step) -> Shown:
    """The quote; of works in progress a supplementary one, with the hours it follows (H4)."""
    order = world.service.estimate(step.order, staff_id=STAFF, hours=step.fields["hours"])
    shown: Json = {"quote": quote_json(order.ledger.quotes[-1])}
    if order.state is State.IN_PROGRESS:
        shown["supplementary"] = {
            "spent_hours": decimal_text(order.works.spent_hours),
            "paid_hours": decimal_text(order.ledger.paid_hours),
        }
    return order, shown


def _decline(world: _World, step: Step) -> Shown:
    return world.service.decline(step.order, customer_id=_text(step, "by")), {}


def _pay(world: _World, step: Step) -> Shown:
    currency = step.fields.get("currency")
    payment = world.payment_id(step)
    paid_in_billing(
        world.billing,
        world.orders,
        order_id=step.order,
        payment_id=payment,
        amount=step.fields["amount"],
        currency=None if currency is None else str(currency),
    )
    try:
        order = world.service.record_payment(
            step.order,
            payment_id=payment,
            amount=step.fields["amount"],
            currency=None if currency is None else str(currency),
        )
    finally:
        report = world.orders.reported(payment)
        if "payment" not in step.fields and report is not None and not report.applied:
            world.refused_payments[step.order] = world.refused_payments.get(step.order, 0) + 1
    return order, {}


def _schedule(world: _World, step: Step) -> Shown:
    order = world.service.schedule(
        step.order,
        staff_id=STAFF,
        due=step.fields.get("due"),
        urgency=step.fields.get("urgency"),
        reason=step.fields.get("reason", ""),
    )
    due = order.works.due
    return order, {} if due is None else {"due": due.isoformat()}


def _cancel(world: _World, step: Step) -> Shown:
    return world.service.cancel(step.order, customer_id=_text(step, "by")), {}


def _start(world: _World, step: Step) -> Shown:
    return world.service.start(step.order, staff_id=STAFF), {}


def _customer_change(world: _World, step: Step) -> Shown:
    by = _text(step, "by")
    return world.service.record_customer_change(step.order, customer_id=by), {}


def _log_hours(world: _World, step: Step) -> Shown:
    order = world.service.log_hours(step.order, staff_id=STAFF, hours=step.fields["hours"])
    return order, {"spent_hours": decimal_text(order.works.spent_hours)}


def _complete(world: _World, step: Step) -> Shown:
    """The deadline, or null while the completion notice waits (mail down, rule C1)."""
    order = world.service.complete(step.order, staff_id=STAFF)
    deadline = order.works.claim_deadline
    return order, {"claim_deadline": None if deadline is None else deadline.isoformat()}


def _relay(world: _World, step: Step) -> Shown:
    """The relay job: every message due goes out, a completion notice opening its window."""
    relay(
        world.orders,
        world.notifier,
        clock=world.clock,
        after_sent=world.service.record_notice_sent,
    )
    return world.orders.get(step.order), {}


def _overdue(world: _World, step: Step) -> Shown:
    """The overdue job (rule S3) at the step's time: whether it lists the order."""
    listed = {o.order_id for o in world.service.report_overdue().orders}
    return world.orders.get(step.order), {"overdue": step.order in listed}


def _fail(world: _World, step: Step) -> Shown:
    return world.service.report_failure(step.order, staff_id=STAFF), {}


def _claim(world: _World, step: Step) -> Shown:
    by, text = _text(step, "by"), _text(step, "text")
    remedy = str(step.fields.get("remedy", ClaimRemedy.REFUND.value))
    return world.service.file_claim(step.order, customer_id=by, text=text, remedy=remedy), {}


def _resolve_claim(world: _World, step: Step) -> Shown:
    outcome = ClaimOutcome(_text(step, "outcome"))
    return world.service.resolve_claim(step.order, staff_id=STAFF, outcome=outcome), {}


def _close(world: _World, step: Step) -> Shown:
    return world.service.close(step.order, staff_id=STAFF), {}


def _withdraw(world: _World, step: Step) -> Shown:
    reason = _text(step, "reason")
    return world.service.withdraw(step.order, staff_id=STAFF, reason=reason), {}


def _maintenance(world: _World, step: Step) -> Shown:
    """The host reports the Site Maintenance subscription on the order's site began or ended."""
    order = world.orders.get(step.order)
    customer = world.customers.find(order.customer_id)
    if customer is None:  # pragma: no cover - an order's customer is in the directory
        raise UnknownCustomer(f"{order.customer_id!r} is not a customer of this hosting")
    site = {order.target.name}
    sites = (
        customer.maintained_sites | site
        if step.fields["active"] is True
        else customer.maintained_sites - site
    )
    world.customers.put(attrs.evolve(customer, maintained_sites=sites))
    return order, {}


ACTIONS: Final[Mapping[str, Callable[[_World, Step], Shown]]] = {
    "request": _request,
    "supplement": _supplement,
    "estimate": _estimate,
    "decline": _decline,
    "pay": _pay,
    "schedule": _schedule,
    "overdue": _overdue,
    "cancel": _cancel,
    "start": _start,
    "customer_change": _customer_change,
    "complete": _complete,
    "fail": _fail,
    "claim": _claim,
    "resolve_claim": _resolve_claim,
    "close": _close,
    "maintenance": _maintenance,
    "withdraw": _withdraw,
    "relay": _relay,
    "log_hours": _log_hours,
}
