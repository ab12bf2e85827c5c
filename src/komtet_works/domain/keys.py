"""Keys that name one operation: idempotency keys for the billing system, message ids.

A key is built from structured parts, never by joining free text: the parts are written as
a JSON array (ASCII only, so any text survives any store), and a JSON array is read back
into exactly the parts it was written from.  Two distinct tuples of parts therefore never
give one key, whatever separators, quotes or unicode the ids hold (rule K1).
"""

from __future__ import annotations

import json
from typing import Final

#: What ``json.dumps(parts, ensure_ascii=True, separators=(",", ":"))`` uses, built once:
#: dumps builds an encoder on each call with these options.  A save names two or three keys.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def operation_key(*parts: str | int) -> str:
    """The key of the operation `parts` name, e.g. ``operation_key("refund", payment_id)``."""
    return _ENCODER.encode(parts)
