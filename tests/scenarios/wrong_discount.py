"""A deliberately wrong implementation: the reference runner, with a 10% maintenance discount.

Used by test_conformance.py: `python wrong_discount.py SCENARIO.json` prints a result
document that differs from the expected one wherever a quote carries a discount.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from komtet_works.scenarios.runner import run_files


def wrong(quote: dict[str, str]) -> None:
    """Take 10% off instead of the tariff's share, and make the total follow."""
    if quote["discount"] == "0.00":
        return
    gross = Decimal(quote["gross"])
    discount = (gross / 10).quantize(Decimal("0.01"))
    quote["discount"], quote["total"] = f"{discount:f}", f"{gross - discount:f}"


if __name__ == "__main__":
    result = run_files([Path(sys.argv[-1])])
    for scenario in result["scenarios"]:  # type: ignore[attr-defined]
        for step in scenario["steps"]:
            if "quote" in step:
                wrong(step["quote"])
    sys.stdout.write(json.dumps(result) + "\n")
