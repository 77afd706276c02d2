"""Scaffolding the emulators share: fault injection, `/_emulator` control routes, serving.

Each emulator (Freshchat, Chatwoot, Telegram, Viber, ...) keeps its own wire format: how an
error reads, which routes exist. What is the same for all of them lives here once:

- `faults`: arming faults by method and route, latency, hangs released on demand.
- `control`: the bearer-token guard and the faults and call-count routes under `/_emulator`.
- `served`: the command line that serves an emulator on a port with uvicorn.
"""

from __future__ import annotations
