"""Conformance scenarios: the executable reference spec of komtet-works.

A scenario file (JSON) describes customers and timed steps on work orders; running it
through the library gives a result document.  The suite shipped here, scenarios with
their expected results, is what other implementations are checked against.
"""

from typing import Final

#: The version of the scenario format and suite (see docs/conformance.md for the promise).
SUITE_VERSION: Final = "2.0.0"
