"""Freshness windows: a signed webhook sent long ago is a replay, not a retry.

A signature proves who wrote a body, not when it was sent. The bridge dedupes message ids for
7 days, so a captured webhook replayed after that would be delivered again; one whose format
carries a time (Viber's `timestamp`, HappyTalk's `time`, Freshchat's `action_time`, Chatwoot's
`X-Chatwoot-Timestamp`) is refused when that time is outside its window:

- older than `max_age`, which must outlast the sender's own retries (Viber retries for an hour)
  and stay shorter than the dedupe window;
- later than `max_skew` seconds ahead of the bridge's clock (the sender's clock runs fast).

```python
window = FreshnessWindow(max_age=7200, max_skew=300)
window.check(sent_at, now=clock.time(), what="Viber callback")   # or StaleWebhook (401)
window = FreshnessWindow.from_env(
    env, "BYOC_VIBER_MAX_WEBHOOK_AGE", "BYOC_VIBER_WEBHOOK_CLOCK_SKEW", default=window
)
```

Each channel reads `BYOC_<NAME>_MAX_WEBHOOK_AGE` and `BYOC_<NAME>_WEBHOOK_CLOCK_SKEW`
(seconds); `MAX_WEBHOOK_AGE=0` turns the check off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone

import attrs

from .errors import ConfigurationError, StaleWebhook

__all__ = ["DEDUPE_WINDOW", "FreshnessWindow"]

DEDUPE_WINDOW = 7 * 24 * 3600.0
"""How long the bridge remembers a message id (`byoc.sync.DEFAULT_DEDUPE_TTL`): a freshness
window must be shorter, or a replay could outlive the memory of the original."""


def _seconds(value: float) -> str:
    return f"{value:.0f} s"


@attrs.frozen(kw_only=True)
class FreshnessWindow:
    """How old (`max_age`) and how far ahead (`max_skew`) a webhook's own time may be, in
    seconds. `max_age=0` turns the check off."""

    max_age: float
    max_skew: float

    def __attrs_post_init__(self) -> None:
        for name, value in (("max_age", self.max_age), ("max_skew", self.max_skew)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value}")
        if self.max_age >= DEDUPE_WINDOW:
            raise ValueError(
                f"max_age must be shorter than the {DEDUPE_WINDOW:.0f} s dedupe window, "
                f"not {self.max_age:.0f}"
            )

    @property
    def on(self) -> bool:
        return self.max_age > 0

    def check(self, sent_at: datetime | float | None, *, now: float, what: str) -> None:
        """Raise `StaleWebhook` unless `sent_at` (an aware datetime, or Unix seconds) is within
        the window around `now`. None (the body carries no time) passes: nothing to check."""
        if sent_at is None or not self.on:
            return
        sent = sent_at.timestamp() if isinstance(sent_at, datetime) else float(sent_at)
        age = now - sent
        if age > self.max_age:
            raise StaleWebhook(
                f"stale webhook: {what} sent at {_moment(sent)}, {_seconds(age)} ago, more "
                f"than the {_seconds(self.max_age)} its sender retries for; replayed?"
            )
        if -age > self.max_skew:
            raise StaleWebhook(
                f"stale webhook: {what} sent at {_moment(sent)}, {_seconds(-age)} in the "
                f"future, more than the {_seconds(self.max_skew)} of clock skew allowed; is a "
                "clock wrong (check NTP on both hosts)?"
            )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], age_name: str, skew_name: str, *, default: FreshnessWindow
    ) -> FreshnessWindow:
        """The window the settings `age_name` and `skew_name` set, each falling back to
        `default`'s; a bad value is a `ConfigurationError` naming it."""
        max_age = _setting(env, age_name, default.max_age)
        max_skew = _setting(env, skew_name, default.max_skew)
        if max_age >= DEDUPE_WINDOW:
            raise ConfigurationError(
                f"{age_name} must be shorter than the bridge's {DEDUPE_WINDOW:.0f} s (7 day) "
                f"dedupe window, or a replay could outlive it; got {max_age:g}"
            )
        return cls(max_age=max_age, max_skew=max_skew)


def _setting(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(
            f"{name} must be a number of seconds (0 or more), got {text[:40]!r}"
        )
    return value


def _moment(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.0f} (Unix seconds)"
