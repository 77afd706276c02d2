"""The demo kit of `FakeChannel`: the fallback when no installed channel ships a demo kit.

Its "emulator" is two control endpoints, so a person can play a user over HTTP too:

- `POST /_emulator/say` `{"user": "alice", "text": "hi"}`: the user writes (a signed webhook
  goes to the bridge);
- `GET /_emulator/sent?user=alice`: what the user received, oldest first.
"""

from __future__ import annotations

import json

from ..asgi import ASGIApp
from ..channel import Channel
from ..models import Text
from ..testing.fake_channel import FakeChannel
from ..testing.network import VirtualNetwork
from ..testing.rig import BRIDGE_URL
from ..testing.routing import Request, Response, Router, json_response
from .kit import DemoKit

__all__ = ["FakeDemo"]


class FakeDemo(DemoKit):
    """A messenger that lives in memory, reached at `http://fake.test` on the demo's network."""

    name = "fake"
    host = "fake.test"
    user_label = "user"
    title = "the fake messenger"

    def __init__(self, network: VirtualNetwork) -> None:
        self.fake = FakeChannel(name=self.name)
        self._http = network.client(timeout=30.0)
        self._router = Router()
        self._router.route("POST", "/_emulator/say")(self._say)
        self._router.route("GET", "/_emulator/sent")(self._sent)
        network.add(self.host, self._router)

    @property
    def channel(self) -> Channel:
        return self.fake

    @property
    def app(self) -> ASGIApp:
        return self._router

    async def connect(self, bridge: object) -> None:
        """Nothing to register: the fake messenger posts straight to the bridge."""

    async def user_says(self, user: str, text: str) -> None:
        body, headers = self.fake.user_message(user, text)
        response = await self._http.post(
            f"{BRIDGE_URL}/channels/{self.name}/webhook", content=body, headers=headers
        )
        response.raise_for_status()

    def user_id(self, user: str) -> str:
        return user

    def received(self, user: str) -> list[str]:
        return [
            " ".join(p.text for p in message.parts if isinstance(p, Text)) or "(media)"
            for message in self.fake.outbox.get(user, [])
        ]

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/say -d '{{"user": "alice", "text": "Hi!"}}'""",
            f"curl -s '{here}/sent?user=alice'",
        ]

    async def _say(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return json_response({"error": 'send {"user": "...", "text": "..."}'}, 400)
        user = body.get("user") if isinstance(body.get("user"), str) else "alice"
        await self.user_says(str(user or "alice"), body["text"])
        return json_response({"ok": True})

    async def _sent(self, request: Request) -> Response:
        return json_response(self.received(request.query.get("user", "alice")))

    async def aclose(self) -> None:
        await self._http.aclose()
