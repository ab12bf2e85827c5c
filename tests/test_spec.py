"""docs/spec.md against the code and the tests it describes, and the generator that keeps it.

When the first test fails, run ``python tools/spec.py`` (``make spec``) and commit the result.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pendulum
import pytest

from komtet_works.domain import errors
from komtet_works.domain.lifecycle import TERMINAL, TRANSITIONS
from komtet_works.domain.money import Money
from komtet_works.domain.pricing import HoursRounding, Tariff, parse_hours, price
from komtet_works.entrypoints.presenters import decimal_text
from spec import NO_TESTS, ROOT, SPEC, TESTS, mermaid, render, rule_markers

#: A rule's heading: ``### P2 — Minimum term``, ``### D-CLAIM-WINDOW — ...``.
RULE_HEADING = re.compile(r"^### (?P<id>[A-Z]\d+|D-[A-Z]+(?:-[A-Z]+)*) — ", re.MULTILINE)
PROVED_BY = re.compile(r"^<!-- generated:proved-by (?P<id>\S+) -->$", re.MULTILINE)
SECTION_END = re.compile(r"^#{1,3} ", re.MULTILINE)
#: How the source cites a rule in docstrings and comments: ``rule P4``, ``(D-CLAIMS)``.
CITATION = re.compile(r"\b(?:[MPLICE]\d{1,2}|[DP]-[A-Z]+(?:-[A-Z]+)*)\b")


def _region(text: str, opening: str, closing: str) -> str:
    start = text.index(opening) + len(opening)
    return text[start : text.index(closing, start)]


def _defined(spec_text: str) -> list[str]:
    return RULE_HEADING.findall(spec_text)


@pytest.fixture(name="spec_text")
def fixture_spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


@pytest.fixture(name="markers", scope="module")
def fixture_markers() -> dict[str, list[str]]:
    return rule_markers(TESTS)


# --- the committed spec ---------------------------------------------------------------------


def test_the_committed_spec_is_what_the_generator_writes(spec_text: str) -> None:
    """The diagram, the actors and every Proved-by list match TRANSITIONS and the tests."""
    assert render(spec_text) == spec_text, (
        "docs/spec.md is stale: run `python tools/spec.py` (make spec) and commit it"
    )


def test_every_rule_the_spec_defines_is_proved_by_a_test(
    spec_text: str, markers: dict[str, list[str]]
) -> None:
    """Each rule and decision of the spec is cited by at least one test's rule marker."""
    untested = [rule for rule in _defined(spec_text) if not markers.get(rule)]
    assert [] == untested, (
        f"no test carries @pytest.mark.rule for {', '.join(untested)}; "
        "add tests, then run `python tools/spec.py`"
    )


def test_every_rule_a_test_cites_is_defined_in_the_spec(
    spec_text: str, markers: dict[str, list[str]]
) -> None:
    """A rule marker names only rule IDs that docs/spec.md defines."""
    undefined = {rule: nodes for rule, nodes in markers.items() if rule not in _defined(spec_text)}
    assert {} == undefined


def test_every_rule_the_source_cites_is_defined_in_the_spec(spec_text: str) -> None:
    """Docstrings and comments in src/ cite only rule and decision IDs the spec defines."""
    defined = set(_defined(spec_text))
    undefined = sorted(
        f"{path.relative_to(ROOT).as_posix()}: {rule}"
        for path in (ROOT / "src").rglob("*.py")
        for rule in set(CITATION.findall(path.read_text(encoding="utf-8")))
        if rule not in defined
    )
    assert [] == undefined


def test_the_spec_defines_each_rule_once(spec_text: str) -> None:
    """No rule ID heads two sections."""
    defined = _defined(spec_text)
    assert sorted(set(defined)) == sorted(defined)


def test_each_rule_section_lists_the_tests_of_its_own_rule(spec_text: str) -> None:
    """Every rule heading is followed, inside its section, by its own Proved-by list only."""
    sections = []
    for heading in RULE_HEADING.finditer(spec_text):
        following = SECTION_END.search(spec_text, heading.end())
        end = following.start() if following else len(spec_text)
        sections.append((heading["id"], PROVED_BY.findall(spec_text, heading.end(), end)))
    assert [(rule, [rule]) for rule in _defined(spec_text)] == sections
    assert _defined(spec_text) == PROVED_BY.findall(spec_text)


def test_every_link_inside_the_spec_leads_to_a_heading(spec_text: str) -> None:
    """Each ``](#anchor)`` link is a heading's anchor on GitHub and on the MkDocs site alike."""
    headings = re.findall(r"^#+ (.+)$", spec_text, re.MULTILINE)
    github = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    mkdocs = {re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in headings}
    links = re.findall(r"\]\(#([^)]+)\)", spec_text)
    assert [] == [link for link in links if link not in github & mkdocs]
    assert links, "the spec links nothing: this test would prove nothing"


def test_the_lifecycle_diagram_has_one_edge_per_transition(spec_text: str) -> None:
    """Each (state, action) -> state entry is one labelled edge; terminal states end in [*]."""
    diagram = _region(spec_text, "<!-- generated:lifecycle -->\n```mermaid\n", "```\n")
    lines = diagram.splitlines()
    edges = [tuple(re.split(r" --> |: ", line.strip())) for line in lines if ": " in line]
    ends = [line.strip().removesuffix(" --> [*]") for line in lines if line.endswith("[*]")]
    expected = [
        ("[*]" if before is None else before.value, after.value, action.value)
        for (before, action), after in TRANSITIONS.items()
    ]
    assert "stateDiagram-v2" == lines[0]
    assert sorted(expected) == sorted(edges)
    assert sorted(state.value for state in TERMINAL) == sorted(ends)
    assert 1 + len(edges) + len(ends) == len(lines)


def test_the_error_table_lists_every_refusal_with_its_code(spec_text: str) -> None:
    """Each error class of domain/errors.py that has a code of its own is one table row."""
    table = _region(spec_text, "| code | exception | meaning |\n|---|---|---|\n", "\n\n")
    rows = [tuple(re.findall(r"`(\w+)`", row)[:2]) for row in table.splitlines()]
    expected = [
        (error.code, error.__name__)
        for error in vars(errors).values()
        if isinstance(error, type)
        and issubclass(error, errors.KomtetWorksError)
        and error.code != errors.KomtetWorksError.code
    ]
    assert sorted(expected) == sorted(rows)


@pytest.mark.rule("P1", "P2", "P3", "P4", "P6", "P7", "D-INCREMENT", "D-MONEY-ROUNDING")
def test_the_pricing_examples_in_the_spec_are_what_the_code_quotes(spec_text: str) -> None:
    """Every row of the spec's pricing table is the quote `price` gives for its inputs."""
    table = _region(spec_text, "<!-- checked:pricing-examples -->\n", "<!-- end checked -->")
    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in table.splitlines()]
    examples = rows[2:]  # below the header and the |---| line
    assert examples, "the spec's pricing examples are missing"
    computed = []
    for hours, rounding, rate, maintained, *_ in examples:
        increment, _, mode = rounding.partition(" ")  # "none", or "0.25 up" and the like
        tariff = Tariff(
            hourly_rate=Money.of(rate),
            billing_increment=None if increment == "none" else Decimal(increment),
            hours_rounding=HoursRounding(mode or "up"),
        )
        quote = price(
            tariff,
            parse_hours(hours),
            maintained_site={"yes": True, "no": False}[maintained],
            issued_at=pendulum.datetime(2026, 3, 2, 10, tz="Europe/Moscow"),
            valid_for=timedelta(days=7),
        )
        computed.append(
            [
                hours,
                rounding,
                rate,
                maintained,
                decimal_text(quote.billable_hours),
                decimal_text(quote.gross.amount),
                decimal_text(quote.discount.amount),
                decimal_text(quote.total.amount),
            ]
        )
    assert examples == computed


# --- the generator --------------------------------------------------------------------------


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(source), encoding="utf-8")


SAMPLE = """\
    import pytest
    from pytest import mark

    pytestmark = [pytest.mark.rule("M1"), pytest.mark.slow]


    @pytest.mark.rule("P2", "P3")
    def test_minimum_term():
        pass


    def test_unmarked():
        pass


    def helper():
        pass


    @mark.rule("C1")
    class TestClaims:
        pytestmark = pytest.mark.rule("C2")

        @pytest.mark.rule("C3")
        def test_outcome(self):
            pass

        def test_window(self):
            pass


    @pytest.mark.parametrize("hours", [pytest.param("1", marks=pytest.mark.rule("P8"))])
    def test_hours(hours):
        pass


    TestMachine = pytest.mark.rule("L10")(object)
"""


def test_rule_markers_reads_functions_classes_pytestmark_and_params(tmp_path: Path) -> None:
    """Markers on functions, classes, params and pytestmark reach the tests pytest collects."""
    _write(tmp_path, "tests/unit/test_sample.py", SAMPLE)
    _write(tmp_path, "tests/unit/helpers.py", "def test_not_collected(): pass\n")
    sample = "tests/unit/test_sample.py::"
    assert {
        "C1": [f"{sample}TestClaims::test_outcome", f"{sample}TestClaims::test_window"],
        "C2": [f"{sample}TestClaims::test_outcome", f"{sample}TestClaims::test_window"],
        "C3": [f"{sample}TestClaims::test_outcome"],
        "L10": [f"{sample}TestMachine"],
        "M1": [
            f"{sample}test_minimum_term",
            f"{sample}test_unmarked",
            f"{sample}TestClaims::test_outcome",
            f"{sample}TestClaims::test_window",
            f"{sample}test_hours",
            f"{sample}TestMachine",
        ],
        "P2": [f"{sample}test_minimum_term"],
        "P3": [f"{sample}test_minimum_term"],
        "P8": [f"{sample}test_hours"],
    } == rule_markers(tmp_path / "tests")


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("@pytest.mark.rule('P2')\ndef helper(): pass\n", "mark no collected test"),
        ("@pytest.mark.rule('C1')\nclass Claims:\n    def test_x(self): pass\n", "no collected"),
        ("def test_x():\n    pytest.mark.rule('P2')\n", "mark no collected test"),
        ("IDS = ('P2',)\n@pytest.mark.rule(*IDS)\ndef test_x(): pass\n", "string literals"),
        ("@pytest.mark.rule()\ndef test_x(): pass\n", "string literals"),
        ("@pytest.mark.rule(rule='P2')\ndef test_x(): pass\n", "string literals"),
    ],
)
def test_rule_markers_refuses_markers_it_cannot_attribute(
    tmp_path: Path, source: str, complaint: str
) -> None:
    """A marker that marks no collected test, or whose IDs are not literals, is an error."""
    _write(tmp_path, "tests/test_bad.py", "import pytest\n" + source)
    with pytest.raises(ValueError, match=complaint):
        rule_markers(tmp_path / "tests")


def test_render_fills_every_region_and_keeps_the_prose(tmp_path: Path) -> None:
    """Generated regions are rewritten from scratch; the hand-written text is kept as is."""
    _write(tmp_path, "tests/test_pricing.py", SAMPLE)
    spec_text = (
        "# Spec\n\nProse quoting `<!-- generated:lifecycle -->` stays.\n\n"
        "### P2 — Minimum term\n\n<!-- generated:proved-by P2 -->\n- stale\n"
        "<!-- end generated -->\n\n### P5 — Prepaid\n\n<!-- generated:proved-by P5 -->\n"
        "<!-- end generated -->\n\n<!-- generated:lifecycle -->\nold diagram\n"
        "<!-- end generated -->\n"
    )
    assert (
        "# Spec\n\nProse quoting `<!-- generated:lifecycle -->` stays.\n\n"
        "### P2 — Minimum term\n\n<!-- generated:proved-by P2 -->\n"
        "- [test_minimum_term](../tests/test_pricing.py): "
        "`tests/test_pricing.py::test_minimum_term`\n"
        "<!-- end generated -->\n\n### P5 — Prepaid\n\n<!-- generated:proved-by P5 -->\n"
        f"{NO_TESTS}<!-- end generated -->\n\n<!-- generated:lifecycle -->\n"
        f"```mermaid\n{mermaid()}```\n<!-- end generated -->\n"
    ) == render(spec_text, tests_dir=tmp_path / "tests")


@pytest.mark.parametrize(
    "spec_text",
    [
        "<!-- generated:weather -->\n<!-- end generated -->\n",
        "<!-- generated:proved-by -->\n<!-- end generated -->\n",
        "<!-- generated:lifecycle P2 -->\n<!-- end generated -->\n",
        "<!-- generated:lifecycle -->\nno end\n",
        (
            "<!-- generated:proved-by P1 -->\n<!-- generated:proved-by P2 -->\n"
            "<!-- end generated -->\n<!-- end generated -->\n"
        ),
    ],
)
def test_render_refuses_regions_it_cannot_fill(tmp_path: Path, spec_text: str) -> None:
    """Unknown, ill-formed, unterminated or nested regions are errors, not silently kept."""
    (tmp_path / "tests").mkdir()
    with pytest.raises(ValueError, match="region"):
        render(spec_text, tests_dir=tmp_path / "tests")
