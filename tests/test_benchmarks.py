"""A smoke run of every benchmark: each runs at its smallest size and reports its ratios."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"

#: Each benchmark, the options of its smoke run, and how many figures it reports.
SMOKE: dict[str, tuple[tuple[str, ...], int]] = {
    "histories": (("--no-postgres",), 5),
    "lifecycle": ((), 5),
    "startup": ((), 3),
    "scale": (("--no-postgres",), 11),
    "storage": (("--no-postgres",), 2),
    "workers": (("--no-postgres",), 2),
}


def test_every_benchmark_has_a_smoke_run() -> None:
    """Every script in benchmarks/ but the harness is smoke-run here: none rots unseen."""
    scripts = {p.stem for p in BENCHMARKS.glob("*.py")} - {"harness"}
    assert sorted(scripts) == sorted(SMOKE)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_the_benchmark_runs_and_reports_a_ratio_per_figure(name: str, tmp_path: Path) -> None:
    """The benchmark's smoke run writes its figures, each with a finite positive ratio."""
    options, figures = SMOKE[name]
    results = tmp_path / f"{name}.json"
    script = BENCHMARKS / f"{name}.py"
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script), "--smoke", *options, "--json", str(results)],
        check=True,
        capture_output=True,
    )
    document = json.loads(results.read_text(encoding="utf-8"))
    ratios = [figure["ratio"] for figure in document["figures"]]
    assert figures == len(ratios)
    assert [] == [r for r in ratios if not (math.isfinite(r) and r > 0)]
    assert {"platform", "cpus", "load_average"} <= set(document["machine"])
    assert document["packages"]["komtet-works"] is not None


@pytest.mark.postgres
def test_the_storage_benchmark_runs_on_postgres(pg_database: str, tmp_path: Path) -> None:
    """On PostgreSQL too, the storage benchmark's smoke run reports its four ratios."""
    results = tmp_path / "storage.json"
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCHMARKS / "storage.py"), "--smoke", "--json", str(results)],
        check=True,
        capture_output=True,
        env={**os.environ, "KOMTET_WORKS_PG_DSN": pg_database},
    )
    figures = json.loads(results.read_text(encoding="utf-8"))["figures"]
    assert 4 == len(figures)
    assert ["PostgreSQL", "PostgreSQL"] == [f["name"].split(":")[0] for f in figures[2:]]


@pytest.mark.postgres
def test_the_histories_benchmark_runs_on_postgres(pg_database: str, tmp_path: Path) -> None:
    """On PostgreSQL too, the histories benchmark's smoke run reports its four ratios."""
    results = tmp_path / "histories.json"
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCHMARKS / "histories.py"), "--smoke", "--json", str(results)],
        check=True,
        capture_output=True,
        env={**os.environ, "KOMTET_WORKS_PG_DSN": pg_database},
    )
    figures = json.loads(results.read_text(encoding="utf-8"))["figures"]
    assert 9 == len(figures)
    assert ["PostgreSQL"] * 4 == [f["name"].split(":")[0] for f in figures[4:8]]


def _smoke_names_on_postgres(benchmark: str, dsn: str, tmp_path: Path) -> list[str]:
    """The names of the figures a benchmark's smoke run reports against PostgreSQL."""
    results = tmp_path / f"{benchmark}.json"
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCHMARKS / f"{benchmark}.py"), "--smoke", "--json", str(results)],
        check=True,
        capture_output=True,
        env={**os.environ, "KOMTET_WORKS_PG_DSN": dsn},
    )
    return [f["name"] for f in json.loads(results.read_text(encoding="utf-8"))["figures"]]


@pytest.mark.postgres
def test_the_workers_benchmark_runs_on_postgres(pg_database: str, tmp_path: Path) -> None:
    """On PostgreSQL too, the workers benchmark's smoke run reports lives and the relay."""
    names = _smoke_names_on_postgres("workers", pg_database, tmp_path)
    assert 6 == len(names)
    assert ["PostgreSQL"] * 4 == [name.split(":")[0] for name in names[2:]]
    assert ["the relay"] * 2 == [name.split(": ")[1][:9] for name in names[4:]]


@pytest.mark.postgres
def test_the_scale_benchmark_runs_its_queries_on_postgres(pg_database: str, tmp_path: Path) -> None:
    """On PostgreSQL too, the scale benchmark's smoke run reports the query, page and new
    order ratios."""
    names = _smoke_names_on_postgres("scale", pg_database, tmp_path)
    assert 18 == len(names)
    assert ["PostgreSQL"] * 7 == [name.split(":")[0] for name in names[11:]]
