"""Hostile input at the command line: each is refused in one line, or one JSON document."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import attrs
import pytest

from komtet_works.entrypoints.cli import main

SITE = "shop.example"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202e"


@attrs.frozen
class Hostile:
    """One hostile command line, the exit code and the code of its refusal."""

    argv: tuple[str, ...]
    exit_code: int
    code: str
    #: a piece of the message: what the operator must read to put it right
    says: str


TOO_LONG = "x" * 300
CASES = {
    "invalid UTF-8 in an id": Hostile(
        ("request", os.fsdecode(b"o-\xff"), "--customer", "c-1", "--target", SITE,
         "--problem", "p"),
        2, "invalid_input", "not valid UTF-8",
    ),
    "year 1 with a positive offset": Hostile(
        ("request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", "p",
         "--now", "0001-01-01T00:00:00+03:00"),
        2, "invalid_input", "now is out of range",
    ),
    "year 9999 with a negative offset": Hostile(
        ("schedule", "o-1", "--staff", "s-1", "--due", "9999-12-31T23:00:00-03:00"),
        2, "invalid_input", "due is out of range",
    ),
    "a 300-character target": Hostile(
        ("request", "o-1", "--customer", "c-1", "--target", TOO_LONG, "--problem", "p"),
        1, "not_customer_target", TOO_LONG,
    ),
    "an unknown option": Hostile(("list", "--colour"), 2, "invalid_input", "--colour"),
    "conformance --timeout inf": Hostile(
        ("conformance", "--timeout", "inf", "--", "true"), 2, "invalid_input", "'inf'"
    ),
    "conformance --timeout nan": Hostile(
        ("conformance", "--timeout", "nan", "--", "true"), 2, "invalid_input", "'nan'"
    ),
    "conformance --timeout -1": Hostile(
        ("conformance", "--timeout", "-1", "--", "true"), 2, "invalid_input", "'-1'"
    ),
    "--export into an unwritable place": Hostile(
        ("conformance", "--export", "/proc/komtet-works-suite"), 1, "export_failed",
        "cannot write the suite into /proc/komtet-works-suite",
    ),
    "a postgresql:// database without the driver": Hostile(
        ("--db", "postgresql://localhost/works", "list"), 1, "driver_missing",
        "pip install 'komtet-works[postgres]'",
    ),
}  # fmt: skip


@pytest.fixture(name="workdir")
def fixture_workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A current directory with a database holding customer c-1, and no psycopg."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KOMTET_WORKS_DB", raising=False)
    monkeypatch.setitem(sys.modules, "komtet_works.adapters.postgres", None)
    assert 0 == main(["customer-add", "c-1", "--site", SITE])
    capsys.readouterr()
    return tmp_path


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize("hostile", CASES.values(), ids=CASES.keys())
def test_hostile_input_is_one_line_naming_its_code(
    capsys: pytest.CaptureFixture[str], hostile: Hostile
) -> None:
    """Refused with its exit code, on one stderr line `komtet-works: error: CODE: ...`."""
    assert hostile.exit_code == main(list(hostile.argv))
    captured = capsys.readouterr()
    assert "" == captured.out
    assert 1 == len(captured.err.splitlines())
    assert captured.err.startswith(f"komtet-works: error: {hostile.code}: ")
    assert hostile.says in captured.err


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize(
    "hostile",
    [case for case in CASES.values() if case.argv[0] not in ("conformance", "--db")],
    ids=[name for name, case in CASES.items() if case.argv[0] not in ("conformance", "--db")],
)
def test_with_json_a_refusal_is_one_json_document(
    capsys: pytest.CaptureFixture[str], hostile: Hostile
) -> None:
    """With --json the refusal is one JSON document on stdout carrying its code."""
    assert hostile.exit_code == main([*hostile.argv, "--json"])
    captured = capsys.readouterr()
    assert "" == captured.err
    assert hostile.code == json.loads(captured.out)["error"]


def test_nothing_is_stored_by_a_refused_request(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After every refused request the database holds no order."""
    for hostile in CASES.values():
        main(list(hostile.argv))
    capsys.readouterr()
    assert 0 == main(["list", "--json"])
    assert [] == json.loads(capsys.readouterr().out)
    assert (workdir / "komtet-works.sqlite").is_file()


@pytest.fixture(name="escaping_order")
def fixture_escaping_order(workdir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Order o-1, whose problem text holds terminal escape sequences."""
    argv = ["request", "o-1", "--customer", "c-1", "--target", SITE, "--problem", ESCAPES]
    assert 0 == main([*argv, "--json"])
    capsys.readouterr()
    return "o-1"


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_show_escapes_the_control_characters_of_customer_text(
    capsys: pytest.CaptureFixture[str], escaping_order: str, as_json: bool
) -> None:
    """`show` prints no control or format character raw; the JSON still holds the text."""
    assert 0 == main(["show", escaping_order, *(["--json"] if as_json else [])])
    out = capsys.readouterr().out
    assert out.replace("\n", "").isprintable()
    if as_json:
        assert ESCAPES == json.loads(out)["problem"]
    else:
        assert "\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202e" in out
