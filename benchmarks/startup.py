"""Start-up: the quote command as a whole process, and `import komtet_works`.

    python benchmarks/startup.py [--rounds N] [--smoke] [--json PATH]

Each round starts fresh interpreters, ours and the baseline in turn:

- `komtet-works quote --hours 2 --json` (the installed script) against a bare
  ``python -c pass``: the goal is absolute, at most 150 ms for the whole process;
- ``python -c "import komtet_works"`` against ``python -c "import attrs, pendulum"``,
  our two dependencies the domain cannot do without: the goal is the difference, at
  most 15 ms;
- ``from komtet_works import WorkOrder, price``, the whole domain, against the same
  baseline: reported.  The package imports each name on first use, so the bare import
  loads none of the domain; this is what a program using the domain pays for it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from harness import Batch, start

SCRIPT = Path(sys.executable).with_name("komtet-works")


def process(*command: str) -> Batch:
    """A batch that runs `command` to its end `number` times; its output is dropped."""

    def batch(number: int) -> float:
        begin = time.perf_counter()
        for _ in range(number):
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - ours
        return time.perf_counter() - begin

    return batch


def main(argv: Sequence[str] | None = None) -> None:
    bench, results = start("startup", "Start-up: the quote process and the import", argv)
    python = sys.executable
    quote = bench.compare(
        "`komtet-works quote --hours 2 --json`, whole process",
        process(str(SCRIPT), "quote", "--hours", "2", "--json"),
        process(python, "-c", "pass"),
        baseline_name="python -c pass",
        goal="<= 150 ms absolute",
    )
    print(f"  {'':<56} the process takes {quote.measured * 1e3:.0f} ms")
    imported = bench.compare(
        "`import komtet_works`",
        process(python, "-c", "import komtet_works"),
        process(python, "-c", "import attrs, pendulum"),
        baseline_name="import attrs, pendulum",
        goal="<= 15 ms over",
    )
    over = (imported.measured - imported.baseline) * 1e3
    print(f"  {'':<56} over attrs + pendulum: {over:.1f} ms")
    domain = bench.compare(
        "`from komtet_works import WorkOrder, price`",
        process(python, "-c", "from komtet_works import WorkOrder, price"),
        process(python, "-c", "import attrs, pendulum"),
        baseline_name="import attrs, pendulum",
        goal="reported",
    )
    over = (domain.measured - domain.baseline) * 1e3
    print(f"  {'':<56} over attrs + pendulum: {over:.1f} ms")
    bench.write(results)


if __name__ == "__main__":
    main()
