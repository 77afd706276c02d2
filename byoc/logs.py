"""Where byoc's log lines go when it runs inside another program's server.

`byoc serve` sets up logging itself. A bridge mounted in an app that uvicorn, gunicorn or
Django serves would log nothing of its own: those servers configure only their own loggers.
`log_to_stderr()` shows byoc's lines (one per hop of each message) on standard error, with the
settings' credentials blanked out, unless the program configured logging already.

```python
from byoc import build_bridge, log_to_stderr

log_to_stderr()          # before or after build_bridge(); idempotent
bridge = build_bridge()
```
"""

from __future__ import annotations

import logging
import sys

from .redaction import RedactingFormatter, Redactor
from .settings import Settings, load_settings

__all__ = ["LOG_FORMAT", "log_to_stderr"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr(settings: Settings | None = None, *, level: int = logging.INFO) -> bool:
    """Send the `byoc` loggers' lines to standard error; False when logging was set up already.

    Nothing changes when the root logger or the `byoc` logger has a handler: the program
    decided where lines go. Otherwise the `byoc` logger gets a handler of its own (the root
    logger is left alone, so the host program's logging stays as it was).
    """
    root, ours = logging.getLogger(), logging.getLogger("byoc")
    if root.handlers or ours.handlers:
        return False
    settings = settings or load_settings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(Redactor.from_settings(settings.values), LOG_FORMAT))
    ours.addHandler(handler)
    ours.setLevel(level)
    # Already shown here; the root's last-resort handler would print warnings twice.
    ours.propagate = False
    return True
