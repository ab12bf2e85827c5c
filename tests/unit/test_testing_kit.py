"""The contract kit as a host meets it: its extra, and the --komtet-contract plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest

import komtet_works.testing as kit

HOST = '''
from datetime import UTC, datetime

from komtet_works.adapters import InMemoryBilling, InMemoryNotifier, SystemClock
from komtet_works.ports import Billing, Clock, Notifier


class ForgetfulBilling:
    """A billing that gives a new invoice on every call: idempotency broken."""

    def __init__(self) -> None:
        self.count = 0

    def request_payment(self, *, order_id, amount, idempotency_key) -> str:
        self.count += 1
        return f"inv-{self.count}"

    def void_invoice(self, *, invoice, idempotency_key) -> None:
        self.count += 1

    def refund(self, *, payment_id, amount, idempotency_key) -> str:
        self.count += 1
        return f"rf-{self.count}"


class StdlibClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def make_billing() -> Billing:
    return InMemoryBilling()


def make_forgetful() -> ForgetfulBilling:
    return ForgetfulBilling()


def make_clock() -> StdlibClock:
    return StdlibClock()


def make_notifier() -> Notifier:
    return InMemoryNotifier(SystemClock())


def unreachable(notifier):
    notifier.failing = True
    return notifier


def unannotated():
    return InMemoryBilling()
'''


@pytest.fixture(name="host")
def fixture_host(pytester: pytest.Pytester) -> pytest.Pytester:
    """A directory holding the host's module, host.py, importable by the inner pytest."""
    pytester.makepyfile(host=HOST)
    pytester.syspathinsert()
    return pytester


def test_the_plugin_runs_the_billing_suite_on_a_hosts_factory(host: pytest.Pytester) -> None:
    """--komtet-contract=host:make_billing runs every BillingContract test, and they pass."""
    result = host.runpytest("--komtet-contract=host:make_billing", "-q")
    result.assert_outcomes(passed=len(_tests_of("BillingContract")))
    result.stdout.fnmatch_lines(["*passed*"])


def test_the_plugin_matches_a_concrete_class_to_its_port_by_shape(host: pytest.Pytester) -> None:
    """A factory annotated with its own class (a stdlib clock) gets the Clock suite."""
    result = host.runpytest("--komtet-contract=host:make_clock", "-v")
    result.assert_outcomes(passed=len(_tests_of("ClockContract")))
    result.stdout.fnmatch_lines(
        ["*TestClockContract::test_now_is_a_timezone_aware_datetime PASSED*"]
    )


def test_a_broken_adapter_fails_its_contract(host: pytest.Pytester) -> None:
    """A billing that forgets its idempotency keys fails the suite's per-key tests."""
    result = host.runpytest("--komtet-contract=host:make_forgetful", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) > 0
    result.stdout.fnmatch_lines(["*FAILED*test_an_entry_asked_twice_with_one_key_is_one_entry*"])


def test_hooks_are_taken_from_the_factorys_module(host: pytest.Pytester) -> None:
    """The Notifier suite finds `unreachable` beside the factory and passes."""
    result = host.runpytest("--komtet-contract=host:make_notifier", "-q")
    result.assert_outcomes(passed=len(_tests_of("NotifierContract")))


def test_two_suites_run_in_one_session(host: pytest.Pytester) -> None:
    """The option is repeatable: billing and clock suites run together."""
    result = host.runpytest(
        "--komtet-contract=host:make_billing", "--komtet-contract=host:make_clock", "-q"
    )
    result.assert_outcomes(
        passed=len(_tests_of("BillingContract")) + len(_tests_of("ClockContract"))
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("host", "expected MODULE:FACTORY"),
        ("no_such_host:make", "No module named 'no_such_host'"),
        ("host:make_nothing", "has no attribute 'make_nothing'"),
        ("host:unannotated", "annotate the factory's return type"),
    ],
)
def test_a_factory_the_plugin_cannot_use_is_a_usage_error(
    host: pytest.Pytester, spec: str, message: str
) -> None:
    """A bad --komtet-contract is refused in one line that says what is wrong."""
    result = host.runpytest(f"--komtet-contract={spec}")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines([f"ERROR: --komtet-contract={spec}: *{message}*"])


def test_a_suite_with_hooks_missing_is_a_usage_error(host: pytest.Pytester) -> None:
    """Backups need their hooks beside the factory; the error names the missing ones."""
    host.makepyfile(
        backups_host=(
            "from komtet_works.adapters import InMemoryBackups\n"
            "from komtet_works.ports import Backups\n"
            "def make() -> Backups:\n    return InMemoryBackups()\n"
            "def target(backups):\n    return None\n"
        )
    )
    result = host.runpytest("--komtet-contract=backups_host:make")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines(["*Backups needs the hooks write, read, unbackable*"])


def test_the_kit_without_pytest_names_the_extra_to_install() -> None:
    """Importing komtet_works.testing where pytest is missing says: install [testing]."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['pytest'] = None; import komtet_works.testing",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 1 == run.returncode
    assert (
        "ImportError: komtet_works.testing needs pytest: pip install 'komtet-works[testing]'"
        == run.stderr.strip().splitlines()[-1]
    )


def _tests_of(contract: str) -> list[str]:
    """The names of the test items one run of `contract` yields (parametrized ones counted)."""
    return [
        name
        for name, test in vars(getattr(kit, contract)).items()
        for _ in range(_cases(test))
        if name.startswith("test_")
    ]


def _cases(test: object) -> int:
    count = 1
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            count *= len(mark.args[1])
    return count
