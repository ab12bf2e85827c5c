"""The loggers of the package's modules.

A library logs; the host decides where it goes.  The package's logger holds a NullHandler,
so that without a handler of the host's, Python's last-resort handler does not print the
library's warnings to stderr.  It is added here, by the first module that logs, not by
``import komtet_works``: importing logging would cost every quote ~10 ms, and a quote
logs nothing.
"""

from __future__ import annotations

import logging

logging.getLogger("komtet_works").addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger of the module called `name` (its ``__name__``)."""
    return logging.getLogger(name)
