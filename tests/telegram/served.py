"""`byoc emulate telegram` as a user starts it: a process on a real port, driven through its
control endpoints (as `tests/core/cli/emulators.py` does for Freshchat and Viber)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.core.cli.support import Running, free_port, poll

TOKEN = "7654321:served-token-0123456789abcdefABCD"


class TelegramServer:
    """`byoc emulate telegram` on a free port, and what its users do."""

    def __init__(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.control = f"{self.base}/_emulator"
        self.process = Running(
            "emulate", "telegram", "--port", str(port), "--token", TOKEN, "--log-level", "info"
        )
        # Its own line comes before uvicorn binds; uvicorn's says the port is open.
        self.process.wait_for(r"Uvicorn running on")

    def new_user(self, name: str = "Minjun") -> int:
        answer = httpx.post(f"{self.control}/users", json={"first_name": name})
        answer.raise_for_status()
        return int(answer.json()["id"])

    def sends(self, user_id: int, **message: Any) -> dict[str, Any]:
        """The user sends `text=...`, or `kind=..., data=bytes` (a photo, a document...)."""
        if "data" in message:
            message["data_base64"] = base64.b64encode(message.pop("data")).decode()
        answer = httpx.post(f"{self.control}/send", json={"user_id": user_id, **message})
        answer.raise_for_status()
        update: dict[str, Any] = answer.json()
        return update

    def act(self, action: str, **body: Any) -> httpx.Response:
        """`block`, `tap`, `redeliver`...: a control endpoint taking a JSON body."""
        answer = httpx.post(f"{self.control}/{action}", json=body)
        answer.raise_for_status()
        return answer

    def received(self, user_id: int) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.control}/sent", params={"user_id": user_id})
        answer.raise_for_status()
        sent: list[dict[str, Any]] = answer.json()
        return sent

    def wait_for_received(self, user_id: int, count: int) -> list[dict[str, Any]]:
        poll(lambda: len(self.received(user_id)) >= count)
        return self.received(user_id)

    def times_delivered(self, update_id: int) -> int:
        """How many times the update was answered 2xx (a redelivery counts again)."""
        deliveries = httpx.get(f"{self.control}/deliveries").json()
        return sum(d["delivered"] for d in deliveries if d["update"]["update_id"] == update_id)

    def stop(self) -> None:
        self.process.stop()
