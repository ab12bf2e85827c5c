"""The JSON Schemas (draft 2020-12) of scenario files and of results, shipped in the package."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator

SCHEMA_DIR: Final = Path(__file__).parent / "schema"
#: The schemas of the current version of the contract (2), which the runner enforces.
SCENARIO_SCHEMA: Final = "scenario.schema.json"
RESULT_SCHEMA: Final = "result.schema.json"
#: Version 1 of the contract, published as it was: every file it accepts, version 2 accepts.
SCENARIO_SCHEMA_V1: Final = "scenario.v1.schema.json"
RESULT_SCHEMA_V1: Final = "result.v1.schema.json"


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """The schema document `name` (`SCENARIO_SCHEMA`, `RESULT_SCHEMA` or a `*_V1`)."""
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))
