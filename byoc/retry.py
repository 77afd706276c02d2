"""The retry policy: when to try a failed delivery again, and when to give up.

One object decides for every delivery: exponential backoff with jitter, the peer's
`Retry-After` honoured, bounded by a number of attempts and a time budget. Permanent errors
are not retried at all.

```python
policy = RetryPolicy(max_attempts=10, budget=3600)
delay = policy.delay(attempt=3, error=exc, elapsed=120.0)   # None: give up (dead letter)
```
"""

from __future__ import annotations

import random

import attrs

from .errors import ConfigurationError, PermanentError, RetryableError

__all__ = ["RetryPolicy"]


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Backoff `base * factor**(attempt-1)` capped at `max_delay`, ± `jitter` (a fraction).

    `attempt` counts the failed tries so far (1 after the first failure). `budget` is the time
    in seconds since the job was accepted after which it is given up.
    """

    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.2
    max_attempts: int = 15
    budget: float = 24 * 3600.0
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.max_delay < self.base:
            raise ConfigurationError("retry policy: need 0 < base <= max_delay and factor >= 1")
        if not 0 <= self.jitter < 1 or self.max_attempts < 1 or self.budget <= 0:
            raise ConfigurationError(
                "retry policy: need 0 <= jitter < 1, max_attempts >= 1 and budget > 0"
            )

    def retryable(self, error: BaseException) -> bool:
        """Whether `error` may go away by itself (or by an operator fixing a setting)."""
        return isinstance(error, (RetryableError, ConfigurationError)) and not isinstance(
            error, PermanentError
        )

    def delay(self, *, attempt: int, error: BaseException, elapsed: float) -> float | None:
        """Seconds to wait before the next try, or None to give up."""
        if not self.retryable(error) or attempt >= self.max_attempts:
            return None
        backoff = min(self.max_delay, self.base * self.factor ** (attempt - 1))
        backoff *= 1 + self.jitter * (2 * self.rng.random() - 1)
        hint = error.retry_after if isinstance(error, RetryableError) else None
        if hint is not None:
            # The peer said when: never earlier, and no need to wait much longer either.
            backoff = max(hint, min(backoff, hint * (1 + self.jitter)))
        if elapsed + backoff > self.budget:
            return None
        return backoff
