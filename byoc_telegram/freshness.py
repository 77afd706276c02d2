"""Telegram updates older than their freshness window are refused, and answered 200.

Telegram keeps a bot's updates for 24 hours and repeats one whose webhook answered anything but
2xx. So the window must let a day-old update through (the bridge was down, Telegram kept it),
and the default is 25 hours: an update dated earlier is a replay of a captured request, not
Telegram's own delivery. The secret header is the same on every update, so the window stops a
request replayed as it was captured, not one rewritten by someone who holds the secret.

```python
window = FreshnessWindow.from_env(
    env, "BYOC_TELEGRAM_MAX_WEBHOOK_AGE", "BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW",
    default=DEFAULT_FRESHNESS,
)
check_update_time(window, update, now=clock.time())   # or StaleUpdate (answered 200)
```
"""

from __future__ import annotations

from byoc import FreshnessWindow
from byoc.errors import StaleWebhook

from .inbound import Object, update_time

__all__ = ["DEFAULT_FRESHNESS", "KEPT_FOR", "StaleUpdate", "check_update_time"]

KEPT_FOR = 24 * 3600.0
"""How long Telegram keeps an update no webhook took (seconds)."""
DEFAULT_FRESHNESS = FreshnessWindow(max_age=KEPT_FOR + 3600.0, max_skew=300.0)
"""Telegram keeps updates for 24 hours: one made over 25 hours ago is a replay."""


class StaleUpdate(StaleWebhook):
    """An update made outside the freshness window: not delivered, and answered 200.

    The other channels answer a stale webhook 401, but Telegram repeats an update until it gets
    a 2xx, and a stale one stays stale: a 401 would have it retried for as long as Telegram
    keeps trying, holding up the updates behind it. A 200 (whose body still says why) makes
    Telegram drop it; the bridge logs the refusal and the admin page counts it.
    """

    status_code = 200


def check_update_time(window: FreshnessWindow, update: Object, *, now: float) -> None:
    """Raise `StaleUpdate` when `update` was made outside `window` around `now`. An update
    without a time of its own (a button tap) is not dated, so it passes."""
    try:
        window.check(update_time(update), now=now, what="Telegram update")
    except StaleWebhook as exc:
        raise StaleUpdate(str(exc)) from None
