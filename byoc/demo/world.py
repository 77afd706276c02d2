"""`DemoWorld`: the bridge, a help desk's emulator and channel emulators, in one process.

Everything talks over a `VirtualNetwork` with the services' real wire formats (signed
webhooks, REST calls), so the demo runs the same code paths as production without a socket
or a credential. The help desk is Freshchat's emulator, or Chatwoot's (`helpdesk="chatwoot"`).
Served as an ASGI app (`byoc serve` without help-desk credentials), it is the bridge at `/`,
with each emulator mounted at `/emulators/<name>/` so a person can drive their control
endpoints:

```
/admin, /metrics, /channels/..., /messaging/webhook      the bridge
/emulators/freshchat/_emulator/...                       play the agent (or chatwoot/)
/emulators/viber/_emulator/...                           play a Viber user
```

The store is in memory on purpose: the emulators forget everything when the process stops, so
a file would only keep links to conversations that no longer exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from ..asgi import ASGIApp, Receive, Scope, Send, lifespan, route_path, send_response
from ..bridge import Bridge
from ..store import MemoryStore
from ..testing.helpdesk import HelpdeskDouble
from ..testing.rig import BridgeRig
from .kit import DemoKit, DemoKitFactory

__all__ = ["DEMO_LABEL", "DemoWorld"]

DEMO_LABEL = "DEMO"
_MOUNT = re.compile(r"^/emulators/(?P<name>[^/]+)(?P<rest>/.*)?$")
# Each round lets the channel emulators' callbacks land, then the bridge and the help desk finish
# what they caused; a message's whole round trip takes fewer rounds than this.
_SETTLE_ROUNDS = 3


class DemoWorld:
    """A complete bridge on emulators. `await start()`, act, `await settle()`, read."""

    def __init__(
        self,
        kits: Sequence[DemoKitFactory],
        *,
        admin_token: str | None = None,
        delivery: Any = "durable",
        helpdesk: str = "freshchat",
    ) -> None:
        self.rig = BridgeRig(helpdesk=helpdesk)
        self.kits: list[DemoKit] = [make(self.rig.network) for make in kits]
        self.bridge: Bridge = self.rig.attach(
            [kit.channel for kit in self.kits],
            store=MemoryStore(),
            delivery=delivery,
            admin_token=admin_token,
            label=DEMO_LABEL,
        )
        self._mounts: dict[str, ASGIApp] = {self.helpdesk.name: self.helpdesk.app}
        for kit in self.kits:
            if kit.app is not None:
                self._mounts[kit.name] = kit.app
        self._started = False

    @property
    def helpdesk(self) -> HelpdeskDouble:
        """The help desk's emulator, as the demo plays its agent."""
        return self.rig.helpdesk

    def kit(self, name: str) -> DemoKit:
        for kit in self.kits:
            if kit.name == name:
                return kit
        raise KeyError(name)

    async def start(self) -> None:
        """Start the delivery workers and register each channel's webhook with its emulator."""
        if self._started:
            return
        self._started = True
        await self.bridge.start()
        for kit in self.kits:
            await kit.connect(self.bridge)

    async def serve_at(self, base: str) -> None:
        """The demo is now served at `base` (`http://127.0.0.1:8000`): use URLs a browser can
        reach, on the admin page and for the emulators' webhooks.

        The emulators stay on the demo's in-process network; the bridge joins it under `base`'s
        host too, and each channel's webhook is registered again at the new URL.
        """
        self.rig.network.add(httpx.URL(base).host, self.bridge)
        self.bridge.public_url = base.rstrip("/")
        self.bridge.installs.public_url = self.bridge.public_url
        self.helpdesk.webhook_url = self.bridge.messaging_webhook_url()
        if self._started:
            for kit in self.kits:
                await kit.connect(self.bridge)

    async def settle(self) -> None:
        """Wait until every webhook, callback and delivery in flight has finished."""
        for _ in range(_SETTLE_ROUNDS):
            for kit in self.kits:
                await kit.settle()
            await self.rig.settle()

    def conversation_of(self, kit: DemoKit, user: str) -> str | None:
        """The help-desk conversation of a kit's user, once the user has written."""
        reference = self.bridge.sync.reference_ids.make(kit.name, kit.user_id(user))
        found = self.helpdesk.conversations(reference)
        return found[0] if found else None

    def texts(self, conversation_id: str) -> list[str]:
        """The texts the user wrote in the conversation, oldest first."""
        return self.helpdesk.user_texts(conversation_id)

    def control_hints(self, base_url: str) -> list[str]:
        """Shell commands to play the users and the agent against `byoc serve`."""
        hints = []
        for kit in self.kits:
            hints.append(f"# as a {kit.user_label}:")
            hints.extend(kit.control_hints(base_url))
        hints.append(f"# as the {self.helpdesk.title} agent:")
        hints += self.helpdesk.control_hints(f"{base_url}/emulators/{self.helpdesk.name}")
        return hints

    async def aclose(self) -> None:
        await self.rig.aclose()
        for kit in self.kits:
            await kit.aclose()

    # -- served as one ASGI app -------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.start, self.aclose)
            return
        if scope["type"] != "http":
            return
        mount = _MOUNT.match(route_path(scope))
        if mount is None:
            await self.bridge(scope, receive, send)
            return
        app = self._mounts.get(mount.group("name"))
        if app is None:
            known = ", ".join(f"/emulators/{n}/" for n in self._mounts)
            body = f'{{"error": "no emulator there; mounted: {known}"}}'.encode()
            await send_response(send, 404, body)
            return
        root = scope.get("root_path", "") + f"/emulators/{mount.group('name')}"
        path = scope.get("path", "/")
        if not path.startswith(root):
            # A server that leaves the mount point out of `path`: put it back.
            path = root + (mount.group("rest") or "/")
        await app({**scope, "root_path": root, "path": path}, receive, send)
