"""The examples in the docs run as tests, so the pages cannot drift from the code.

Every ```python block of a page runs, in order, sharing one namespace per page; every
```json block is a scenario, run through the runner, or the result of the scenario just
before it, compared with what the runner gave field by field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

from komtet_works.scenarios.conformance import differences
from komtet_works.scenarios.loading import parse_scenario
from komtet_works.scenarios.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Pages that must hold examples, so their test cannot pass by finding none.
WITH_EXAMPLES = ("README.md", "index.md", "scenarios.md")


def check_json(example: Example) -> None:
    """Run a scenario block; compare a result block with the scenario run before it."""
    document = json.loads(example.parsed)
    if "scenarios" in document:
        actual = example.namespace.pop("scenario result")
        assert [] == [str(difference) for difference in differences(document, actual)]
    else:
        scenario = parse_scenario(document, source=f"{example.path}:{example.line}")
        example.namespace["scenario result"] = {"scenarios": [run_scenario(scenario)]}


SYBIL = Sybil(
    parsers=[PythonCodeBlockParser(), CodeBlockParser(language="json", evaluator=check_json)]
)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_examples_of_each_page_run(page: Path) -> None:
    """Each Python block of the page runs; each scenario gives the result shown after it."""
    examples = list(SYBIL.parse(page))
    for example in examples:
        example.evaluate()
    assert page.name not in WITH_EXAMPLES or examples
