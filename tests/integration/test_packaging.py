"""The wheel as a host installs it: the kit importable with [testing], the licence inside."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, cwd: Path = ROOT) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603 - our own commands
    assert 0 == done.returncode, done.stdout + done.stderr
    return done.stdout


def test_the_wheel_with_the_testing_extra_imports_the_kit_and_ships_the_licence(
    tmp_path: Path,
) -> None:
    """Built offline and installed with [testing] in a new venv: the kit imports, LICENSE is in."""
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-build-isolation",
        "--no-deps",
        ROOT,
        "-w",
        tmp_path / "dist",
    )
    (wheel,) = (tmp_path / "dist").glob("komtet_works-*.whl")
    with zipfile.ZipFile(wheel) as contents:
        names = contents.namelist()
        licence = next(name for name in names if name.endswith(".dist-info/licenses/LICENSE"))
        assert contents.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert "komtet_works/py.typed" in names

    host = tmp_path / "host"
    venv.create(host, with_pip=False)
    python = host / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    # the dependencies come from this environment: the test runs offline
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib"), encoding="utf-8")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-index",
        f"komtet-works[testing] @ {wheel.as_uri()}",
    )
    imported = _run(
        python,
        "-c",
        "import komtet_works, komtet_works.testing as kit; "
        "print(komtet_works.__file__); print(kit.BillingContract.__name__)",
        cwd=tmp_path,
    ).splitlines()
    assert [str(Path(site) / "komtet_works" / "__init__.py"), "BillingContract"] == imported
