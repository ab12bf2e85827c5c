"""Keep docs/spec.md honest: fill its generated regions from the code and the tests.

``python tools/spec.py`` rewrites docs/spec.md in place; tests/test_spec.py fails when the
committed file differs from what this script would write.  Everything outside a generated
region is hand-written and left exactly as it is.  A region is delimited by two HTML
comments, which Markdown does not show::

    <!-- generated:lifecycle -->      the state diagram, from lifecycle.TRANSITIONS
    <!-- generated:actors -->         who may take each action, from lifecycle.ACTORS
    <!-- generated:proved-by P2 -->   the tests marked @pytest.mark.rule("P2", ...)
    <!-- end generated -->

Rule markers are found statically, with `ast`, so the spec never runs the tests: a marker
counts when it decorates a test function or a test class, or sits in a module's or a test
class's ``pytestmark``.  A marker anywhere else marks no test that pytest collects, so it
is refused rather than silently dropped.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from komtet_works.domain.lifecycle import ACTORS, TERMINAL, TRANSITIONS, Action, ActorKind, State

ROOT: Final = Path(__file__).resolve().parent.parent
SPEC: Final = ROOT / "docs" / "spec.md"
TESTS: Final = ROOT / "tests"

#: Markers count only on lines of their own, so prose may quote them.
OPEN: Final = re.compile(r"^<!-- generated:", re.MULTILINE)
END: Final = re.compile(r"^<!-- end generated -->$", re.MULTILINE)
REGION: Final = re.compile(
    r"^(?P<open><!-- generated:(?P<kind>[a-z-]+)(?: (?P<arg>\S+))? -->\n)"
    r"(?P<body>.*?)"
    r"^(?P<end><!-- end generated -->)$",
    re.DOTALL | re.MULTILINE,
)

#: What a Proved-by list says while no test cites the rule.
NO_TESTS: Final = "- _No test cites this rule yet._\n"


# --- the lifecycle --------------------------------------------------------------------------


def _state(state: State | None) -> str:
    return "[*]" if state is None else state.value


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram: one edge per entry of `TRANSITIONS`.

    Edges are labelled with the action; ``[*] -->`` is the creation of an order and
    ``--> [*]`` marks the terminal states.
    """
    lines = ["stateDiagram-v2"]
    lines.extend(
        f"    {_state(before)} --> {after.value}: {action.value}"
        for (before, action), after in TRANSITIONS.items()
    )
    lines.extend(f"    {state.value} --> [*]" for state in State if state in TERMINAL)
    return "\n".join(lines) + "\n"


def actors_table() -> str:
    """Who may take each action (rule L14), as a Markdown table in the order of `Action`."""
    rows = ["| action | who may take it |", "|---|---|"]
    for action in Action:
        kinds = ", ".join(kind.value for kind in ActorKind if kind in ACTORS[action])
        rows.append(f"| `{action.value}` | {kinds} |")
    return "\n".join(rows) + "\n"


# --- rule markers ---------------------------------------------------------------------------


def _is_rule_marker(node: ast.AST) -> bool:
    """`pytest.mark.rule(...)` or `mark.rule(...)`."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return node.func.attr == "rule" and (
        (isinstance(owner, ast.Attribute) and owner.attr == "mark")
        or (isinstance(owner, ast.Name) and owner.id == "mark")
    )


def _pytestmark(statement: ast.stmt) -> ast.expr | None:
    """The value of ``pytestmark = ...`` (annotated or not), None for any other statement."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return None
    named = any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in targets)
    return statement.value if named else None


class _Markers:
    """The rule markers of one test module, and which of them were given to a test."""

    def __init__(self, path: Path, module: ast.Module) -> None:
        self.path = path
        self.module = module
        self.used: set[int] = set()

    def _ids(self, marker: ast.Call) -> list[str]:
        ids = [
            arg.value
            for arg in marker.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        ]
        if marker.keywords or not ids or len(ids) != len(marker.args):
            raise ValueError(
                f"{self.path}:{marker.lineno}: a rule marker names its rule IDs as string "
                'literals, so the spec can read them: @pytest.mark.rule("P2", ...)'
            )
        self.used.add(id(marker))
        return ids

    def within(self, nodes: Sequence[ast.AST]) -> tuple[str, ...]:
        """The rule IDs of every marker inside `nodes` (decorators, a pytestmark value)."""
        return tuple(
            rule
            for node in nodes
            for marker in ast.walk(node)
            if isinstance(marker, ast.Call) and _is_rule_marker(marker)
            for rule in self._ids(marker)
        )

    def pytestmark(self, body: Sequence[ast.stmt]) -> tuple[str, ...]:
        """The rule IDs a ``pytestmark = ...`` in `body` gives every test of its scope."""
        values = [value for statement in body if (value := _pytestmark(statement)) is not None]
        return self.within(values)

    def tests(
        self, body: Sequence[ast.stmt], prefix: str, inherited: tuple[str, ...]
    ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(test name within the module, rule IDs) for the tests pytest collects in `body`."""
        scope = inherited + self.pytestmark(body)
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                if statement.name.startswith("test"):
                    yield (
                        prefix + statement.name,
                        scope + self.within(statement.decorator_list),
                    )
            elif isinstance(statement, ast.ClassDef) and statement.name.startswith("Test"):
                yield from self.tests(
                    statement.body,
                    f"{prefix}{statement.name}::",
                    scope + self.within(statement.decorator_list),
                )
            elif (
                not prefix
                and isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and _is_rule_marker(statement.value.func)
            ):
                # TestMachine = pytest.mark.rule("L10")(Machine.TestCase): a marked class
                # made by a call, as hypothesis's stateful tests are.
                names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
                for name in names:
                    if name.startswith("Test"):
                        yield name, scope + self.within([statement.value.func])

    def unused(self) -> list[str]:
        return [
            f"{self.path}:{node.lineno}"
            for node in ast.walk(self.module)
            if isinstance(node, ast.Call) and _is_rule_marker(node) and id(node) not in self.used
        ]


def rule_markers(tests_dir: Path) -> dict[str, list[str]]:
    """Rule ID -> the node ids of the tests marked with it, found statically.

    Node ids are relative to the directory holding `tests_dir`, as pytest prints them
    (``tests/unit/test_pricing.py::test_minimum_term``); files in path order, tests in
    source order.  Only pytest's default names are collected: ``test_*.py`` or
    ``*_test.py`` modules, ``test*`` functions, ``Test*`` classes.  Raises ValueError
    for a marker that no collected test carries.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.rglob("*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        markers = _Markers(path, module)
        node_path = path.relative_to(tests_dir.parent).as_posix()
        # pytest's default python_files: other modules (strategies, fixtures) hold no tests
        collected = path.name.startswith("test_") or path.name.endswith("_test.py")
        for name, rules in markers.tests(module.body, "", ()) if collected else ():
            node_id = f"{node_path}::{name}"
            for rule in rules:
                nodes = found.setdefault(rule, [])
                if node_id not in nodes:
                    nodes.append(node_id)
        stray = markers.unused()
        if stray:
            raise ValueError(
                "rule markers that mark no collected test (put them on a test function, a "
                f"Test class or a pytestmark): {', '.join(stray)}"
            )
    return dict(sorted(found.items()))


def proved_by(rule: str, markers: Mapping[str, Sequence[str]]) -> str:
    """The Markdown list of the tests that prove `rule`, linked relative to docs/."""
    nodes = markers.get(rule, ())
    if not nodes:
        return NO_TESTS
    lines = []
    for node_id in nodes:
        path, _, name = node_id.partition("::")
        lines.append(f"- [{name}](../{path}): `{node_id}`")
    return "\n".join(lines) + "\n"


# --- the spec -------------------------------------------------------------------------------


def render(spec_text: str, *, tests_dir: Path = TESTS) -> str:
    """`spec_text` with every generated region filled in; the rest is left as it is."""
    markers = rule_markers(tests_dir)

    def fill(region: re.Match[str]) -> str:
        kind, arg = region["kind"], region["arg"]
        if kind == "proved-by" and arg is not None:
            body = proved_by(arg, markers)
        elif kind == "lifecycle" and arg is None:
            body = f"```mermaid\n{mermaid()}```\n"
        elif kind == "actors" and arg is None:
            body = actors_table()
        else:
            raise ValueError(f"unknown generated region {region['open'].strip()}")
        return f"{region['open']}{body}{region['end']}"

    rendered, filled = REGION.subn(fill, spec_text)
    if not len(OPEN.findall(spec_text)) == len(END.findall(spec_text)) == filled:
        raise ValueError(
            "generated regions must each open with '<!-- generated:KIND [ARG] -->' and end "
            "with '<!-- end generated -->', each on a line of its own, without nesting"
        )
    return rendered


def main() -> int:
    before = SPEC.read_text(encoding="utf-8")
    after = render(before)
    if after == before:
        sys.stdout.write(f"{SPEC.relative_to(ROOT)} is up to date\n")
    else:
        SPEC.write_text(after, encoding="utf-8")
        sys.stdout.write(f"{SPEC.relative_to(ROOT)} regenerated\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
