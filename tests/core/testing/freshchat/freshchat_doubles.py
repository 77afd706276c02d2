"""Test doubles for the Freshchat emulator's tests: a webhook receiver, a fake clock, steps.

Imported by the tests of this folder by module name (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections import deque
from typing import Any

import attrs
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from byoc.testing.freshchat import FreshchatEmulator
from byoc.testing.routing import Request, Response, Router, json_response

HOOK_URL = "http://bridge.test/hook"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@attrs.frozen(kw_only=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def action(self) -> str:
        payload = self.json()
        return str(payload.get("action") or payload.get("event"))


class Receiver:
    """A bridge stand-in: records every webhook POST and answers from a script (200 after it).

    `gate`, when set to an unset event, holds each request until it is set; `entered` is set
    when a request arrives.
    """

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.script: deque[int] = deque()
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.app = Router()
        self.app.route("POST", "/hook")(self._hook)

    async def _hook(self, request: Request) -> Response:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        self.deliveries.append(Delivery(headers=dict(request.headers), body=request.body))
        status = self.script.popleft() if self.script else 200
        return json_response({"ok": status < 300}, status)

    def payloads(self, action: str | None = None) -> list[Any]:
        return [d.json() for d in self.deliveries if action is None or d.action == action]

    def actions(self) -> list[str]:
        return [d.action for d in self.deliveries]


class Steps:
    """Common steps through the emulator's REST API."""

    def __init__(self, emulator: FreshchatEmulator, api: httpx.AsyncClient) -> None:
        self.emulator = emulator
        self.api = api

    @property
    def support_channel(self) -> str:
        return next(c.id for c in self.emulator.state.channels.values() if c.name == "Support")

    @property
    def billing_channel(self) -> str:
        return next(c.id for c in self.emulator.state.channels.values() if c.name == "Billing")

    @property
    def agent_id(self) -> str:
        return self.emulator.state.default_agent.id

    @property
    def group_id(self) -> str:
        return next(iter(self.emulator.state.groups))

    async def user(self, reference_id: str = "viber:ann", **fields: Any) -> str:
        response = await self.api.post("/users", json={"reference_id": reference_id, **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def conversation(
        self, user_id: str, text: str = "hello", *, channel_id: str | None = None
    ) -> str:
        body = {
            "status": "new",
            "channel_id": channel_id or self.support_channel,
            "users": [{"id": user_id}],
            "messages": [
                {
                    "message_parts": [{"text": {"content": text}}],
                    "actor_type": "user",
                    "actor_id": user_id,
                    "message_type": "normal",
                }
            ],
        }
        response = await self.api.post("/conversations", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["conversation_id"])

    async def say(self, conversation_id: str, user_id: str, text: str) -> httpx.Response:
        return await self.api.post(
            f"/conversations/{conversation_id}/messages",
            json={
                "message_parts": [{"text": {"content": text}}],
                "actor_type": "user",
                "actor_id": user_id,
                "message_type": "normal",
            },
        )


def advertised_key(text: str) -> rsa.RSAPublicKey:
    """Parse the admin page's key text: "RSA PUBLIC KEY" armour around an SPKI body."""
    body = re.sub(r"-----(BEGIN|END)[A-Z ]+-----", "", text)
    key = serialization.load_der_public_key(base64.b64decode("".join(body.split())))
    assert isinstance(key, rsa.RSAPublicKey)
    return key
