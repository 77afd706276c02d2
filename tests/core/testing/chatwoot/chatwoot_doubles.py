"""Test doubles for the Chatwoot emulator's tests: a webhook receiver and common steps.

Imported by the tests of this folder by module name (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import deque
from typing import Any

import attrs
import httpx

from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.routing import Request, Response, Router, json_response

HOOK_URL = "http://bridge.test/hook"
ACCOUNT = "/api/v1/accounts/1"


def expected_signature(key: str, timestamp: str, body: bytes) -> str:
    """The signature computed here, independently of the emulator's code."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@attrs.frozen(kw_only=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return str(self.json()["event"])


class Receiver:
    """A bridge stand-in: records every webhook POST and answers from a script (200 after it)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.script: deque[int] = deque()
        self.gate: asyncio.Event | None = None
        self.app = Router()
        self.app.route("POST", "/hook")(self._hook)

    async def _hook(self, request: Request) -> Response:
        if self.gate is not None:
            await self.gate.wait()
        self.deliveries.append(Delivery(headers=dict(request.headers), body=request.body))
        status = self.script.popleft() if self.script else 200
        return json_response({"ok": status < 300}, status)

    def payloads(self, event: str | None = None) -> list[Any]:
        return [d.json() for d in self.deliveries if event is None or d.event == event]

    def events(self) -> list[str]:
        return [d.event for d in self.deliveries]


class Steps:
    """Common steps through the emulator's REST API, as a bridge would take them."""

    def __init__(self, emulator: ChatwootEmulator, api: httpx.AsyncClient) -> None:
        self.emulator = emulator
        self.api = api

    async def contact(self, identifier: str = "viber:alice", **fields: Any) -> dict[str, Any]:
        body = {"inbox_id": 1, "identifier": identifier, "source_id": identifier, **fields}
        answer = await self.api.post(f"{ACCOUNT}/contacts", json=body)
        assert answer.status_code == 200, answer.text
        contact: dict[str, Any] = answer.json()["payload"]["contact"]
        return contact

    async def conversation(self, contact: dict[str, Any], text: str = "hello") -> int:
        body = {
            "source_id": contact["identifier"],
            "inbox_id": 1,
            "contact_id": contact["id"],
            "message": {"content": text, "message_type": "incoming"},
        }
        answer = await self.api.post(f"{ACCOUNT}/conversations", json=body)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["id"])

    async def incoming(self, conversation_id: int, text: str, **fields: Any) -> dict[str, Any]:
        answer = await self.api.post(
            f"{ACCOUNT}/conversations/{conversation_id}/messages",
            json={"content": text, "message_type": "incoming", **fields},
        )
        assert answer.status_code == 200, answer.text
        message: dict[str, Any] = answer.json()
        return message
