"""Test doubles for the Chatwoot emulator's tests: common steps, and the Freshchat emulator
tests' webhook receiver (it records any JSON webhook; `action` reads Chatwoot's `event`).

Imported by the tests of this folder by module name (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from byoc.testing.chatwoot import ChatwootEmulator
from tests.core.testing.freshchat.freshchat_doubles import Receiver

__all__ = ["ACCOUNT", "HOOK_URL", "Receiver", "Steps", "expected_signature"]

HOOK_URL = "http://bridge.test/hook"
ACCOUNT = "/api/v1/accounts/1"


def expected_signature(key: str, timestamp: str, body: bytes) -> str:
    """The signature computed here, independently of the emulator's code."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


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
