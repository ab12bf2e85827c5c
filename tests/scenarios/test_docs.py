"""The examples in the docs run as tests, so the pages cannot drift from the code.

Every ```python block of a page runs, in order, sharing one namespace per page; every
```json block is a scenario, run through the runner, or the result of the scenario just
before it, compared with what the runner gave field by field.  A block headed
```python title="NAME" is a file of the reader's project: it is written to a directory of
the page's own, where each ``$ python -m pytest ...`` line of a ```console block runs and
must end with the summary the block shows (timings left out).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from komtet_works.scenarios.conformance import differences
from komtet_works.scenarios.loading import parse_scenario
from komtet_works.scenarios.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Pages that must hold examples, so their test cannot pass by finding none.
WITH_EXAMPLES = ("README.md", "index.md", "scenarios.md", "testing.md")


def check_json(example: Example) -> None:
    """Run a scenario block; compare a result block with the scenario run before it."""
    document = json.loads(example.parsed)
    if "scenarios" in document:
        actual = example.namespace.pop("scenario result")
        assert [] == [str(difference) for difference in differences(document, actual)]
    else:
        scenario = parse_scenario(document, source=f"{example.path}:{example.line}")
        example.namespace["scenario result"] = {"scenarios": [run_scenario(scenario)]}


def project(example: Example) -> Path:
    """The page's directory of the reader's project files, made on first use."""
    if "project" not in example.namespace:
        example.namespace["project"] = Path(tempfile.mkdtemp(prefix="komtet-docs-"))
    directory: Path = example.namespace["project"]
    return directory


def write_file(example: Example) -> None:
    """A ```python title="NAME" block: the file NAME of the reader's project."""
    (project(example) / example.region.lexemes["title"]).write_text(
        example.parsed, encoding="utf-8"
    )


def run_pytest(example: Example) -> None:
    """Each ``$ python -m pytest ...`` of a console block runs and ends as the block shows."""
    lines = str(example.parsed).splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("$ python -m pytest "):
            continue
        run = subprocess.run(  # noqa: S603 - the page's own command, without a shell
            [sys.executable, *shlex.split(line[2:])[1:], "-p", "no:cacheprovider"],
            cwd=project(example),
            capture_output=True,
            text=True,
            check=False,
        )
        summary = re.sub(r" in [0-9.]+s.*$", "", run.stdout.strip().splitlines()[-1])
        assert (lines[number + 1], 0) == (summary, run.returncode), run.stdout


FILE_BLOCK = RawFencedCodeBlockLexer(
    info_pattern=re.compile(r'python title="(?P<title>[^"/]+)"$\n', re.MULTILINE)
)


def file_blocks(document: Document) -> Iterator[Region]:
    """The ```python title="NAME" blocks of a page, each written as its file."""
    for region in FILE_BLOCK(document):
        region.parsed = region.lexemes["source"]
        region.evaluator = write_file
        yield region


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        CodeBlockParser(language="json", evaluator=check_json),
        file_blocks,
        CodeBlockParser(language="console", evaluator=run_pytest),
    ]
)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_examples_of_each_page_run(page: Path) -> None:
    """Each Python block of the page runs; each scenario gives the result shown after it."""
    examples = list(SYBIL.parse(page))
    for example in examples:
        example.evaluate()
    assert page.name not in WITH_EXAMPLES or examples
