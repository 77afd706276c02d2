"""JSON text as byoc writes it: request bodies, webhook answers, queued jobs, quoted log values.

Compact, non-ASCII text kept as is (sent as UTF-8), and strict: `NaN` and `Infinity` are not
JSON (RFC 8259), so they raise `ValueError` rather than reach a peer that cannot read them.
One encoder is built once and shared: `json.dumps` with arguments builds a new one per call,
a third of the cost of encoding a small document.

```python
compact_json({"text": "안녕", "n": 1})   # '{"text":"안녕","n":1}'
```
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compact_json"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def compact_json(value: Any) -> str:
    """`value` as compact, strict JSON text; `ValueError` for a non-finite float."""
    return _ENCODER.encode(value)
