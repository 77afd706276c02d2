"""One log line when the server starts turning connections away, then one summary a minute.

A flood of connections must not become a flood of log lines: the adversarial run this guards
against (1,100 idle connections at a file limit of 1,024) made asyncio log one traceback per
failed `accept()`, 178 MB in a minute (its accept loop retries up to `backlog` times per tick,
reporting each failure). `RefusalLog` says each cause and the setting to change once, then
counts; every `window` seconds it logs what it counted, and goes quiet when nothing was
refused. `loop_exception_handler` routes the event loop's own "accept() out of system
resource" reports into it instead of the log.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["SUMMARY_WINDOW", "RefusalLog", "loop_exception_handler"]

SUMMARY_WINDOW = 60.0

# The errors `accept()` fails with when the process or the system has no descriptor (or buffer)
# left: asyncio's selector loop groups the same four before it pauses accepting.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

FILES_ADVICE = "raise the file limit (ulimit -n, systemd LimitNOFILE) or lower BYOC_MAX_CONNECTIONS"

log = logging.getLogger("byoc.connections")

Schedule = Callable[[float, Callable[[], None]], object]


class RefusalLog:
    """Counts connections turned away by cause; logs the first at once, the rest per window.

    `schedule(delay, callback)` runs `callback` after `delay` seconds (`loop.call_later`).

    ```python
    refusals = RefusalLog(logging.getLogger("byoc.connections"), loop.call_later)
    refusals.note("connection cap 900 reached", "raise BYOC_MAX_CONNECTIONS")
    ```
    """

    def __init__(
        self, log: logging.Logger, schedule: Schedule, *, window: float = SUMMARY_WINDOW
    ) -> None:
        self._log = log
        self._schedule = schedule
        self._window = window
        self._counts: Counter[str] | None = None
        self._advice: dict[str, str] = {}
        """Each cause said since the log was last quiet, and its advice."""

    def note(self, cause: str, advice: str) -> None:
        """One connection turned away because of `cause`; `advice` names the setting to change."""
        if cause not in self._advice:
            self._advice[cause] = advice
            self._log.warning("refusing connections: %s; %s", cause, advice)
            if self._counts is None:
                self._counts = Counter()
                self._schedule(self._window, self._summarise)
            return
        assert self._counts is not None
        self._counts[cause] += 1

    def _summarise(self) -> None:
        counts = self._counts
        if not counts:
            # Quiet for a whole window: the next refusal is news again.
            self._counts = None
            self._advice = {}
            return
        causes = ", ".join(f"{n} × {cause}" for cause, n in counts.most_common())
        advice = "; ".join(dict.fromkeys(self._advice[cause] for cause in counts))
        self._log.warning(
            "refused %d connections in the last %g s: %s; %s",
            sum(counts.values()),
            self._window,
            causes,
            advice,
        )
        self._counts = Counter()
        self._schedule(self._window, self._summarise)


def loop_exception_handler(
    refusals: RefusalLog,
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event-loop exception handler that counts failed accepts in `refusals`.

    asyncio reports `accept()` failing with EMFILE/ENFILE as "socket.accept() out of system
    resource" with a traceback, once per attempt; every other report goes to the loop's
    default handler as before.
    """

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            name = errno.errorcode.get(exc.errno, str(exc.errno))
            refusals.note(f"accept() failed: out of file descriptors ({name})", FILES_ADVICE)
            return
        if isinstance(exc, ValueError) and "_start_serving" in repr(context.get("handle")):
            # Each failed accept also scheduled a retry in a second; those that come after the
            # server closed its socket at shutdown fail on the closed descriptor, harmlessly.
            log.debug("accept retry after shutdown: %s", exc)
            return
        loop.default_exception_handler(context)

    return handle
