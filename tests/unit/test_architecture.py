"""The hexagon's rules, checked on the source: a pure domain, ports that know no adapter."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

import komtet_works

PACKAGE = Path(komtet_works.__file__).parent

#: What the domain may import: the language, attrs, pendulum and itself; no I/O, no clock.
DOMAIN_ALLOWED = {
    "__future__",
    "attrs",
    "collections",
    "datetime",
    "decimal",
    "enum",
    "functools",  # memoizing pure functions (domain/scheduling.py)
    "json",  # pure text encoding: the structured parts of keys (domain/keys.py)
    "pendulum",
    "types",
    "typing",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.rule("L11")
@pytest.mark.parametrize("path", modules_of("domain"), ids=lambda p: p.name)
def test_the_domain_imports_nothing_but_the_language_attrs_and_pendulum(path: Path) -> None:
    """domain/ is pure: no I/O, no logging, no ports, no adapters, no use cases."""
    outside = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] not in DOMAIN_ALLOWED
        and not name.startswith(("komtet_works.domain", "pendulum."))
    }
    assert set() == outside


@pytest.mark.rule("L13", "D-CLOCK")
@pytest.mark.parametrize("path", modules_of("domain"), ids=lambda p: p.name)
def test_the_domain_never_reads_a_clock(path: Path) -> None:
    """No now(), today() or time() in domain/: every instant comes in as a value."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert set() == calls & {"now", "today", "utcnow", "time", "monotonic"}


@pytest.mark.rule("L11")
@pytest.mark.parametrize("path", modules_of("ports"), ids=lambda p: p.name)
def test_ports_know_the_domain_but_no_adapter(path: Path) -> None:
    """Adapters depend on ports, never the reverse (the package's import-on-first-use
    helper, `komtet_works._lazy`, depends on nothing of ours)."""
    ours = {n for n in imported_modules(path) if n.startswith("komtet_works")}
    assert set() == {
        n
        for n in ours
        if not n.startswith(("komtet_works.domain", "komtet_works.ports", "komtet_works._lazy"))
    }


@pytest.mark.rule("L11")
def test_the_use_cases_reach_the_world_only_through_ports() -> None:
    """use_cases.py imports the domain, the ports and the relay, never an adapter."""
    ours = {n for n in imported_modules(PACKAGE / "use_cases.py") if n.startswith("komtet_works")}
    assert set() == {n for n in ours if n.startswith("komtet_works.adapters")}


def test_every_public_name_exists_once() -> None:
    """Each name of `__all__` (kept sorted by ruff's RUF022) is importable, and listed once."""
    assert len(set(komtet_works.__all__)) == len(komtet_works.__all__)
    missing = [name for name in komtet_works.__all__ if not hasattr(komtet_works, name)]
    assert [] == missing


def test_the_package_ships_its_type_information_and_its_version() -> None:
    """py.typed is in the package, and __version__ is the installed distribution's."""
    assert (PACKAGE / "py.typed").is_file()
    assert importlib.metadata.version("komtet-works") == komtet_works.__version__
