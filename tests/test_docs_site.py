"""The documentation site works offline: every script it loads is one of its own files."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_loads_mermaid_from_its_own_files() -> None:
    """extra_javascript names files of docs/ only, Mermaid among them, none from a network."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    scripts = [str(script) for script in config.extra_javascript]
    assert ["javascripts/mermaid-11.17.2.min.js"] == scripts
    assert all((ROOT / "docs" / script).is_file() for script in scripts)
    assert "mermaid" in (ROOT / "docs" / scripts[0]).read_text(encoding="utf-8")[:4096].lower()
