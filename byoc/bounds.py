"""Length bounds on what webhooks carry, checked while parsing.

Whatever a parser accepts travels on: ids into URLs, store keys and every log line of a hop,
names and texts to the help desk, URLs to the media fetcher, everything onto the admin page. A
70,000-character user id must be refused at the door (`MalformedPayload`, 400), not fail later
as an invalid URL after filling the logs. Bounds are generous, above what each sender itself
allows, so nothing real is refused; each channel picks its own from these defaults.

```python
user_id = bounded(sender["id"], MAX_ID, "Viber sender id")    # or MalformedPayload
name = name if fits(name, MAX_NAME) else None                 # optional: dropped instead
```

A refusal names the field and the lengths, never the value itself.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import MalformedPayload

__all__ = ["MAX_ID", "MAX_NAME", "MAX_TEXT", "MAX_URL", "bounded", "fits"]

MAX_ID = 256
"""User, message and conversation ids (real ones are 10 to 100 characters)."""
MAX_NAME = 256
"""Display names, file names, labels."""
MAX_URL = 8192
"""Links and media URLs: the request-line limit of common HTTP servers."""
MAX_TEXT = 20_000
"""Message texts when a channel names no limit of its own."""


def fits(value: str, limit: int, measure: Callable[[str], int] = len) -> bool:
    """Whether `value` is at most `limit` long (as `measure` counts: characters by default)."""
    # Every measure in use (characters, UTF-16 units, UTF-8 bytes) counts at least one per
    # code point, so a value longer than the limit is refused without measuring it.
    return len(value) <= limit and measure(value) <= limit


def bounded(value: str, limit: int, what: str, measure: Callable[[str], int] = len) -> str:
    """`value` when it fits in `limit`; else `MalformedPayload` naming `what` and the sizes."""
    if not fits(value, limit, measure):
        raise MalformedPayload(
            f"{what} is {len(value):,} characters long, over the {limit:,} accepted"
        )
    return value
