"""MkDocs hooks for the documentation site (mkdocs.yml names this file).

docs/spec.md links each rule to the tests that prove it (``../tests/...``): the links work
where the Markdown is read in the repository, but the site does not hold those files.  In
the site such a link becomes its text; strict mode goes on checking every other link.
"""

from __future__ import annotations

import re
from typing import Final

#: A Markdown link to a file of the repository outside docs/: tests, sources, tools.
OUTSIDE_THE_SITE: Final = re.compile(r"\[([^\]]+)\]\(\.\./(?:tests|src|tools)/[^)\s]*\)")


def on_page_markdown(markdown: str, **_: object) -> str:
    return OUTSIDE_THE_SITE.sub(r"\1", markdown)
