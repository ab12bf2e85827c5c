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

Every process runs with its bytecode cached, as an installed package has it (pip compiles
it on install): ``PYTHONDONTWRITEBYTECODE`` is dropped and the cache kept in a directory
of the run's own (``PYTHONPYCACHEPREFIX``), so the source tree stays clean.  The warm-up
of each figure fills it.  ``--no-bytecode-cache`` keeps the environment as it is: with
``PYTHONDONTWRITEBYTECODE=1`` our modules (not the installed dependencies, whose
bytecode pip wrote) are compiled again by every process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness import Batch, Bench, options

SCRIPT = Path(sys.executable).with_name("komtet-works")
DESCRIPTION = "Start-up: the quote process and the import"


def process(*command: str, environment: Mapping[str, str]) -> Batch:
    """A batch that runs `command` to its end `number` times; its output is dropped."""

    def batch(number: int) -> float:
        begin = time.perf_counter()
        for _ in range(number):
            subprocess.run(  # noqa: S603 - our own interpreter and script
                command, check=True, stdout=subprocess.DEVNULL, env=environment
            )
        return time.perf_counter() - begin

    return batch


def with_bytecode_cache(cache: str) -> dict[str, str]:
    """This environment, its processes writing and reading their bytecode in `cache`."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return environment | {"PYTHONPYCACHEPREFIX": cache}


def more(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the processes in this environment as it is (PYTHONDONTWRITEBYTECODE kept)",
    )


def main(argv: Sequence[str] | None = None) -> None:
    arguments = options("startup", DESCRIPTION, argv, more)
    bench = Bench("startup", arguments.rounds, arguments.smoke, arguments.large)
    cached = "as it is" if arguments.no_bytecode_cache else "bytecode cached"
    print(f"{DESCRIPTION} (interleaved rounds: {bench.rounds}, medians; {cached})")
    with tempfile.TemporaryDirectory(prefix="komtet-bytecode-") as cache:
        environment = (
            dict(os.environ) if arguments.no_bytecode_cache else with_bytecode_cache(cache)
        )
        measure(bench, environment)
    bench.write(arguments.json)


def measure(bench: Bench, environment: Mapping[str, str]) -> None:
    """The three figures, each process run in `environment`."""
    python = sys.executable
    quote = bench.compare(
        "`komtet-works quote --hours 2 --json`, whole process",
        process(str(SCRIPT), "quote", "--hours", "2", "--json", environment=environment),
        process(python, "-c", "pass", environment=environment),
        baseline_name="python -c pass",
        goal="<= 150 ms absolute",
    )
    print(f"  {'':<56} the process takes {quote.measured * 1e3:.0f} ms")
    imported = bench.compare(
        "`import komtet_works`",
        process(python, "-c", "import komtet_works", environment=environment),
        process(python, "-c", "import attrs, pendulum", environment=environment),
        baseline_name="import attrs, pendulum",
        goal="<= 15 ms over",
    )
    over = (imported.measured - imported.baseline) * 1e3
    print(f"  {'':<56} over attrs + pendulum: {over:.1f} ms")
    domain = bench.compare(
        "`from komtet_works import WorkOrder, price`",
        process(python, "-c", "from komtet_works import WorkOrder, price", environment=environment),
        process(python, "-c", "import attrs, pendulum", environment=environment),
        baseline_name="import attrs, pendulum",
        goal="reported",
    )
    over = (domain.measured - domain.baseline) * 1e3
    print(f"  {'':<56} over attrs + pendulum: {over:.1f} ms")


if __name__ == "__main__":
    main()
