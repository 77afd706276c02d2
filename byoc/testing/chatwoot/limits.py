"""Rack::Attack's throttles, as a self-hosted Chatwoot configures them.

Rack::Attack counts requests in fixed windows (`now // period`) per rule and key. Past the
limit it answers `429` with the plain text `Retry later\\n`, and with `Retry-After` only when
`throttled_response_retry_after_header` is on (it is off by default, and in Chatwoot). The
throttles a bridge can meet:

- `req/ip`: every request, 3,000 a minute per client address (`RACK_ATTACK_LIMIT`);
- `contacts/search`: `GET /contacts/search`, 100 a minute per account
  (`RATE_LIMIT_CONTACT_SEARCH`); the filter endpoint has no such throttle.

(`/upload`, 60 an hour, throttles the dashboard's direct uploads, an endpoint the bridge does
not use: its attachments travel inside the message call.)
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ...clock import Clock, SystemClock

__all__ = ["DEFAULT_THROTTLES", "Limits", "Throttle"]


@attrs.frozen(kw_only=True)
class Throttle:
    """At most `limit` requests per `period` seconds for each key of rule `name`."""

    name: str
    limit: int
    period: float


DEFAULT_THROTTLES: tuple[Throttle, ...] = (
    Throttle(name="req/ip", limit=3000, period=60.0),
    Throttle(name="contacts/search", limit=100, period=60.0),
)


class Limits:
    """Counts requests against the throttles; `hit` says how long a throttled one must wait."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        throttles: Sequence[Throttle] = DEFAULT_THROTTLES,
        retry_after_header: bool = False,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self.throttles = {t.name: t for t in throttles}
        self.retry_after_header = retry_after_header
        self._counts: dict[tuple[str, str, int], int] = {}

    def hit(self, name: str, key: str) -> float | None:
        """Count one request; None when allowed, else the seconds until its window ends."""
        throttle = self.throttles.get(name)
        if throttle is None:
            return None
        now = self._clock.time()
        window = int(now // throttle.period)
        slot = (name, key, window)
        self._counts = {k: v for k, v in self._counts.items() if k[2] >= window - 1} | {
            slot: self._counts.get(slot, 0) + 1
        }
        if self._counts[slot] <= throttle.limit:
            return None
        return (window + 1) * throttle.period - now

    def set(self, name: str, *, limit: int, period: float) -> None:
        """Change (or add) a throttle, as the environment variables would."""
        self.throttles[name] = Throttle(name=name, limit=limit, period=period)
