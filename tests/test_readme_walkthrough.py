"""The README's command-line walkthrough runs as written, in a directory of its own.

Each ``$ `` line of the README's ```console blocks runs in a shell, in order, in one new
directory (so the walkthrough must create whatever it uses), with the installed
`komtet-works` first on the PATH and no ``KOMTET_WORKS_*`` variable set.  Every line must
exit 0; the lines a block shows after a command are what it prints, instants aside (they
are the time of the run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@attrs.frozen
class Command:
    """One ``$ `` line and the output lines the README shows under it."""

    line: str
    shown: tuple[str, ...]


def walkthrough(text: str) -> list[Command]:
    """Every command of the page's console blocks, in order, with its shown output."""
    commands: list[Command] = []
    for block in CONSOLE.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:], ()))
            elif commands:
                commands[-1] = attrs.evolve(commands[-1], shown=(*commands[-1].shown, line))
    return commands


def without_instants(lines: tuple[str, ...] | list[str]) -> list[str]:
    return [line for line in lines if not INSTANT.search(line)]


COMMANDS = walkthrough(README.read_text(encoding="utf-8"))


def test_the_walkthrough_uses_the_command_line() -> None:
    """The README has a walkthrough: a dozen commands, most of them komtet-works."""
    assert 10 <= sum(command.line.startswith("komtet-works ") for command in COMMANDS)


def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    """Each line exits 0 in a fresh directory; shown output is printed, instants aside."""
    environ = {
        name: value for name, value in os.environ.items() if not name.startswith("KOMTET_WORKS_")
    }
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    for command in COMMANDS:
        done = subprocess.run(  # noqa: S602 - the README's own lines, as a reader types them
            command.line,
            shell=True,
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (0, "") == (done.returncode, done.stderr), command.line
        if command.shown:
            printed = done.stdout.splitlines()
            assert without_instants(command.shown) == without_instants(printed), command.line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```console\n$ a\nout\n$ b\n```\n", [Command("a", ("out",)), Command("b", ())]),
        ("```python\n$ not a command\n```\n", []),
    ],
    ids=["commands-and-output", "other-blocks-ignored"],
)
def test_the_walkthrough_is_read_from_console_blocks_only(
    text: str, expected: list[Command]
) -> None:
    """Lines starting with $ are commands; what follows them is their output."""
    assert expected == walkthrough(text)
