"""The agent's side of a test that runs `byoc emulate freshchat` as a process.

`tests/core/cli/emulators.py` starts the emulator; `ServedDesk` plays the agent and reads what
users wrote through its control endpoints (`byoc.testing.freshchat.control`) and its API, as a
test in another process must: by polling, since no event crosses the process boundary.
"""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.support import get_json, poll


@attrs.define
class ServedDesk:
    """Freshchat as an agent sees it, on a served emulator."""

    server: FreshchatServer

    @property
    def control(self) -> str:
        return f"{self.server.base}/_emulator"

    def route_webhooks_to(self, bridge_url: str) -> None:
        """Point the emulator's conversation webhooks at the bridge's messaging webhook."""
        hook = {"url": f"{bridge_url}/messaging/webhook"}
        httpx.put(f"{self.control}/webhook", json=hook).raise_for_status()

    def conversation_of(self, reference_id: str) -> str:
        """The conversation of the user with this `reference_id`, once the bridge made it."""
        found: list[str] = []

        def made() -> bool:
            users = get_json(f"{self.control}/users", params={"reference_id": reference_id})
            conversations = get_json(f"{self.control}/conversations")
            assert isinstance(users, dict) and isinstance(conversations, dict)
            ids = {user["id"] for user in users["users"]}
            found[:] = [
                c["conversation_id"] for c in conversations["conversations"] if c["user_id"] in ids
            ]
            return bool(found)

        poll(made)
        return found[0]

    def written(self, conversation: str) -> list[list[dict[str, Any]]]:
        """The parts of each message the user wrote, oldest first."""
        answer = get_json(f"{self.control}/conversations/{conversation}/messages")
        assert isinstance(answer, dict)
        return [m["message_parts"] for m in answer["messages"] if m["actor_type"] == "user"]

    def wait_for_written(self, conversation: str, count: int) -> list[dict[str, Any]]:
        """The parts of the user's `count`-th message, once it is there."""
        poll(lambda: len(self.written(conversation)) >= count)
        return self.written(conversation)[count - 1]

    def agent_replies(self, conversation: str, **reply: Any) -> None:
        """The agent answers: `text`, `parts`, `reply_parts` as the control endpoint takes."""
        url = f"{self.control}/conversations/{conversation}/reply"
        httpx.post(url, json=reply).raise_for_status()

    def upload_image(self, name: str, data: bytes, content_type: str) -> str:
        """Attach a picture as an agent does (`POST /v2/images/upload`); its Freshchat URL."""
        answer = httpx.post(
            f"{self.server.api_url}/images/upload",
            headers={"Authorization": f"Bearer {self.server.token}"},
            files={"image": (name, data, content_type)},
        )
        answer.raise_for_status()
        return str(answer.json()["url"])
