"""Writing the suite out, so another team can vendor it: scenarios, results, schemas, README."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

from komtet_works._version import __version__
from komtet_works.domain.errors import InvalidInput, KomtetWorksError
from komtet_works.scenarios import SUITE_VERSION
from komtet_works.scenarios.conformance import OPTIONAL_FIELDS, SUITE, suite_cases
from komtet_works.scenarios.schemas import SCHEMA_DIR

README: Final = """\
# komtet-works conformance suite {suite_version}

Exported from komtet-works {version}: {count} scenarios with their expected results.

- `scenarios/NAME.json`: a scenario file; its `name` starts with the rule IDs it exercises.
- `expected/NAME.json`: the result document the reference implementation prints for it.
- `schema/scenario.schema.json`, `schema/result.schema.json`: JSON Schemas (draft 2020-12)
  of both, version 2 of the contract (`urn:komtet-works:schema:scenario:2`, `...:result:2`);
  `schema/scenario.v1.schema.json`, `schema/result.v1.schema.json`: version 1, as it was
  published.  Every file version 1 accepts, version 2 accepts.

Your implementation passes when, run on each scenario file, it prints a result document
equal to the expected one field by field: every field of the expected result counts
except `message` (for people); {optional} count only when you
print them; fields you add are ignored.  With komtet-works installed, check a program that takes the
scenario path as its last argument:

    komtet-works conformance --suite THIS_DIRECTORY -- your-program --its-options

The scenario format, the rules and the versioning promise are in the komtet-works
documentation (scenarios.md, conformance.md, spec.md).
"""


class ExportFailed(KomtetWorksError):
    """The suite could not be written where asked: no permission, no such place, no space."""

    code = "export_failed"


def export_suite(directory: Path, *, suite: Path = SUITE) -> int:
    """Write the suite into `directory` (absent or empty); return how many scenarios."""
    try:
        return _export(directory, suite)
    except OSError as error:
        raise ExportFailed(
            f"cannot write the suite into {directory}: {error.strerror or error}"
        ) from error


def _export(directory: Path, suite: Path) -> int:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InvalidInput(
            f"{directory} exists and is not an empty directory; export into a new one",
            field="export",
        )
    cases = suite_cases(suite)
    for part in ("scenarios", "expected", "schema"):
        (directory / part).mkdir(parents=True, exist_ok=True)
    for case in cases:
        shutil.copyfile(case.scenario, directory / "scenarios" / case.scenario.name)
        shutil.copyfile(case.expected, directory / "expected" / case.expected.name)
    for path in SCHEMA_DIR.glob("*.schema.json"):
        shutil.copyfile(path, directory / "schema" / path.name)
    (directory / "README.md").write_text(
        README.format(
            suite_version=SUITE_VERSION,
            version=__version__,
            count=len(cases),
            optional=", ".join(f"`{name}`" for name in sorted(OPTIONAL_FIELDS)),
        ),
        encoding="utf-8",
    )
    return len(cases)
