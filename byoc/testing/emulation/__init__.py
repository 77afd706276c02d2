"""Scaffolding the emulators share: fault injection, `/_emulator` routes, serving, deliveries.

Each emulator (Freshchat, Chatwoot, Telegram, Viber, KakaoTalk) keeps its own wire format:
how an error reads, how a webhook is signed, which routes exist. What is the same for all of
them lives here once:

- `faults`: faults armed by method and route, latency, hangs released on demand.
- `refusal`: the error a route raises; each emulator renders it in its own shape.
- `control`: the control-token guard and the faults and call-count routes under `/_emulator`.
- `lifecycle`: call counts, webhook draining and closing of the help-desk emulators.
- `served`: the `byoc emulate <name>` command's socket, banner and uvicorn runner.
- `deliveries`: the messenger emulators' background deliveries and retry window.
- `demo_users`: a demo kit's emulator, channel, clients and users by name.
"""

from __future__ import annotations

from .control import Controlled, ControlRoutes
from .deliveries import DeliveryTasks, RetryWindow
from .demo_users import DemoEmulator, EmulatedDemo
from .faults import Fault, FaultKind, FaultSet
from .lifecycle import ServedDesk, WebhookDeliveries
from .refusal import Refusal

__all__ = [
    "ControlRoutes",
    "Controlled",
    "DeliveryTasks",
    "DemoEmulator",
    "EmulatedDemo",
    "Fault",
    "FaultKind",
    "FaultSet",
    "Refusal",
    "RetryWindow",
    "ServedDesk",
    "WebhookDeliveries",
]
