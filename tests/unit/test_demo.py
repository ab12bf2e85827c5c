"""`komtet-works demo`: two orders told from request to end, on in-memory adapters."""

from __future__ import annotations

import pytest

from komtet_works.entrypoints.cli import main
from komtet_works.entrypoints.demo import LATE_CLAIM, SERVER_PROBLEM, SITE_PROBLEM


@pytest.fixture(name="told")
def fixture_told(capsys: pytest.CaptureFixture[str]) -> str:
    """What `komtet-works demo` prints; the demo must have exited 0 with nothing on stderr."""
    assert 0 == main(["demo"])
    captured = capsys.readouterr()
    assert "" == captured.err
    return captured.out


def test_the_demo_tells_the_same_story_on_every_run(
    told: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo runs on a clock it moves itself, so a second run prints the same."""
    assert 0 == main(["demo"])
    assert told == capsys.readouterr().out


@pytest.mark.rule("P3", "P4", "P6")
def test_the_demo_quotes_1_6_maintained_hours_at_1280_rubles(told: str) -> None:
    """1.6 hours on the maintained site: billed as estimated, 320.00 off, 1280.00 to pay."""
    assert "billable hours      1.6" in told
    assert "gross               1600.00 RUB" in told
    assert "discount            320.00 RUB (site_maintenance)" in told
    assert "total               1280.00 RUB" in told
    assert "billing reports payment p-1 of 1280.00 RUB" in told


@pytest.mark.rule("C1", "L7")
def test_the_claim_deadline_is_72_hours_after_the_notice_was_sent(told: str) -> None:
    """Notice sent Monday 12:40, claims accepted until Thursday 12:40:00 inclusive."""
    assert "notice sent at Mon 2026-03-02 12:40:00 by the provider's clock" in told
    assert "claims accepted until Thu 2026-03-05 12:40:00, that second included" in told


@pytest.mark.rule("C1")
def test_a_claim_one_second_after_the_deadline_is_refused(told: str) -> None:
    """The claim at 12:40:01 on Thursday is refused with claim_window_closed."""
    lines = told.splitlines()
    late = next(i for i, line in enumerate(lines) if "files a claim" in line)
    assert lines[late].startswith("Thu 2026-03-05 12:40:01")
    assert "refused: claim_window_closed" == lines[late + 1].strip()


@pytest.mark.rule("C4")
def test_the_first_order_ends_closed_without_refunds(told: str) -> None:
    """After the window the closing job closes order o-1; nothing was refunded."""
    assert "the closing job closes o-1; the order is closed" in told
    assert "paid 1280.00 RUB, refunded 0.00 RUB" in told


@pytest.mark.rule("L5", "L8")
def test_the_failed_order_is_refunded_and_its_backup_restored(told: str) -> None:
    """Order o-2 fails: its 3000.00 payment is refunded and the backup restored."""
    assert "payment p-2 refunded: 3000.00 RUB (rf-1)" in told
    assert "start-of-works backup restored; the order is refunded" in told


def test_the_demo_shows_no_free_text_of_the_customer(told: str) -> None:
    """Problems and claims are the customer's words: the demo shows ids, never the texts."""
    assert [] == [text for text in (SITE_PROBLEM, SERVER_PROBLEM, LATE_CLAIM) if text in told]
